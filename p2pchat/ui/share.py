"""The address to give your peer: `p2pchat://HOST:PORT/FINGERPRINT` (or HOST:PORT without TLS)."""

from __future__ import annotations

# Said after the app copies something: OSC 52 asks the terminal, which may not do it (tmux
# without set-clipboard), and nothing tells the app whether it did.
SENT_TO_CLIPBOARD = "sent to the terminal's clipboard (OSC 52)"

# The identity and network modules are imported on first use: the app's first frame does not
# wait for them (or for cryptography).


def own_address(port: int | None, fingerprint: str, *, tls: bool = True, bind: str = "::") -> str:
    """"" while the port is not known yet (0 means one is picked when listening)."""
    if not port:
        return ""
    from p2pchat.identity import share_address
    from p2pchat.net.address import guess_lan_host

    host = guess_lan_host(bind)
    if not tls or not fingerprint:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return share_address(host, port, fingerprint)
