"""The typed settings object every layer receives; built once by `p2pchat.config`.

A setting the user may change says everything about itself in its field: help text,
the kind of value it takes, and its check (`setting()` below). `p2pchat.config`
reads, checks, shows and writes every such field from that, so a new setting is
one edit here.
"""

from __future__ import annotations

import getpass
import math
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

from p2pchat.textenum import TextEnum


class AcceptUnknown(TextEnum):
    """What to do with a peer whose identity was never seen before."""

    ASK = "ask"
    ALWAYS = "always"  # trust on first use
    NEVER = "never"


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
ACCEPT_UNKNOWN = tuple(choice.value for choice in AcceptUnknown)


# -- value checks ------------------------------------------------------------------
# Each check takes a value already of the right Python type and returns it
# normalised, or raises ValueError with a short reason.


def _nickname(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 32:
        raise ValueError("must be 1 to 32 characters")
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise ValueError(f"{value} is out of range (0-65535)")
    return value


def _not_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _positive_seconds(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a number of seconds above 0, not {value}")
    return float(value)


def _scrollback(value: int) -> int:
    if value < 100:
        raise ValueError(f"must be at least 100 lines, not {value}")
    return value


def _choice(options: tuple[str, ...], upper: bool = False, make: Callable[[str], Any] = str) -> Callable[[str], Any]:
    def check(value: str) -> Any:
        normal = value.strip().upper() if upper else value.strip().lower()
        if normal not in options:
            raise ValueError(f"must be one of {', '.join(options)}, not {value!r}")
        return make(normal)

    return check


def positive_size(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be above 0 bytes, not {value}")
    return value


def parse_keymap(text: str) -> dict[str, str]:
    """'app.quit=ctrl+x, app.help=f2' -> {'app.quit': 'ctrl+x', 'app.help': 'f2'}."""
    keymap = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        binding, sep, keys = pair.partition("=")
        if not sep or not binding.strip() or not keys.strip():
            raise ValueError(f"entry {pair!r} is not binding-id=keys (for example app.quit=ctrl+x)")
        keymap[binding.strip()] = keys.strip()
    return keymap


def _keymap(value: dict[str, str]) -> dict[str, str]:
    for binding, keys in value.items():
        if not isinstance(keys, str) or not binding.strip() or not keys.strip():
            raise ValueError(f"entry {binding!r} is not binding-id = \"keys\" (for example \"app.quit\" = \"ctrl+x\")")
    return {binding.strip(): keys.strip() for binding, keys in value.items()}


def _relays(value: str) -> str:
    if not value.strip():
        return ""  # no relay: the protocol package (heavy) stays unloaded at start-up
    from p2pchat.protocol.transit import parse_relays

    return ", ".join(relay.setting for relay in parse_relays(value))


def _rendezvous(value: str) -> str:
    value = value.strip()
    if value and not (value.startswith(("ws://", "wss://")) and len(value.split("/")[2]) > 0):
        raise ValueError(f"must be a ws:// or wss:// address such as {PUBLIC_RENDEZVOUS}, or empty")
    return value


# The servers the magic-wormhole project runs for any application, as magic-wormhole itself uses
# them. Tests point SERVER_DEFAULTS at nothing (tests/conftest.py): no test reaches a public host.
PUBLIC_RENDEZVOUS = "ws://relay.magic-wormhole.io:4000/v1"
PUBLIC_RELAY = "tcp:transit.magic-wormhole.io:4001"
SERVER_DEFAULTS = {"rendezvous": PUBLIC_RENDEZVOUS, "relay": PUBLIC_RELAY}
def _stun_servers(value: str) -> str:
    if not value.strip():
        return ""
    from p2pchat.protocol.stun import parse_servers

    return ", ".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in parse_servers(value))


def setting(
    default: Any = MISSING,
    *,
    kind: str,
    help: str,
    check: Callable[[Any], Any] = lambda value: value,
    default_factory: Any = MISSING,
) -> Any:
    """A field the user may set. `kind` says how its values are read and written:
    bool, int, float, str, path, size (bytes, or text like "4 GB") or keymap (a table)."""
    metadata = {"kind": kind, "help": help, "check": check}
    return field(default=default, default_factory=default_factory, metadata=metadata)


def _default_nickname() -> str:
    try:
        return getpass.getuser()[:32] or "me"
    except Exception:
        return "me"


@dataclass
class Settings:
    nickname: str = setting(
        default_factory=_default_nickname, kind="str", check=_nickname,
        help="Your name as the peer sees it (1-32 characters).",
    )
    port: int = setting(
        8080, kind="int", check=_port,
        help="TCP port to listen on; 0 picks a free one. If the default port is\n"
        "taken another is used; a port set here, in P2PCHAT_PORT or with --port\n"
        "must be free.",
    )
    bind: str = setting(
        "::", kind="str", check=_not_empty,
        help='Address to listen on: "::" is every interface (IPv4 and IPv6),\n'
        '"0.0.0.0" every IPv4 interface, "127.0.0.1" this machine only.',
    )
    connect: str | None = None  # HOST:PORT, p2pchat://HOST:PORT/FINGERPRINT or an invite (command line)
    relay: str = setting(
        default_factory=lambda: SERVER_DEFAULTS["relay"], kind="str", check=_relays,
        help='Magic-wormhole transit relays that carry the chat when no direct\n'
        'connection works, as "tcp:HOST:PORT", several separated by commas, tried in\n'
        "order. The default is the magic-wormhole project's public relay; empty: none.",
    )
    rendezvous: str = setting(
        default_factory=lambda: SERVER_DEFAULTS["rendezvous"], kind="str", check=_rendezvous,
        help="The magic-wormhole mailbox server through which a short code (/invite)\n"
        'introduces two peers, as "ws://HOST:PORT/v1". The default is the magic-wormhole\n'
        "project's public server; empty: no codes (invite lines still work).",
    )
    stun: str = setting(
        "stun.cloudflare.com:3478, stun.l.google.com:19302", kind="str", check=_stun_servers,
        help='STUN servers asked for your public address once a relay carries a chat,\n'
        'to move it to a direct connection; "HOST:PORT" separated by commas (two tell\n'
        'whether your router keeps port numbers). Empty: never asked.',
    )
    tls: bool = setting(
        True, kind="bool", help="Encrypt with TLS. Both sides must agree; false is for testing only."
    )
    port_mapping: bool = setting(
        True, kind="bool",
        help="Ask the home router (UPnP IGD or NAT-PMP) to forward the port, so\n"
        "peers on the internet can reach you directly; removed again at quit.",
    )
    discoverable: bool = setting(
        True, kind="bool",
        help="Announce yourself on the local network (mDNS: your nickname and\n"
        "fingerprint) and list the p2pchat users there. false: nobody on the LAN sees you.",
    )
    heartbeat_interval: float = setting(
        5.0, kind="float", check=_positive_seconds,
        help="Seconds between heartbeats while the chat is idle.",
    )
    heartbeat_timeout: float = setting(
        15.0, kind="float", check=_positive_seconds,
        help="Seconds without hearing from the peer before the\nconnection counts as lost.",
    )
    handshake_timeout: float = setting(
        10.0, kind="float", check=_positive_seconds,
        help="Seconds a new connection may take to finish its handshake.",
    )
    reconnect: float = setting(
        60.0, kind="float", check=_positive_seconds,
        help="Longest wait, in seconds, between attempts to reconnect after a\n"
        "lost connection (the wait doubles from 1 s up to this).",
    )
    download_dir: Path | None = setting(
        None, kind="path", help='Where received files go; "" means your Downloads folder.'
    )
    auto_accept_files: bool = setting(
        False, kind="bool", help="Accept every file the peer offers without asking."
    )
    accept_unknown: AcceptUnknown = setting(
        AcceptUnknown.ASK, kind="str", check=_choice(ACCEPT_UNKNOWN, make=AcceptUnknown),
        help='A peer whose identity you have not seen before: "ask",\n'
        '"always" (trust on first use without asking) or "never".',
    )
    max_file_size: int = setting(
        16 * 1024**3, kind="size", check=positive_size,
        help='Largest file you accept: bytes, or text like "4 GB" (powers\n'
        'of 1000) or "16 GiB" (powers of 1024).',
    )
    save_history: bool = setting(
        True, kind="bool", help="Keep the chat history on disk (false: nothing is written)."
    )
    log_level: str = setting(
        "INFO", kind="str", check=_choice(LOG_LEVELS, upper=True),
        help="Detail of the log file: " + ", ".join(LOG_LEVELS) + ".",
    )
    theme: str = setting(
        "textual-dark", kind="str", check=_not_empty,
        help='Colour theme of the full-screen app, e.g. "textual-dark",\n'
        '"textual-light", "nord", "gruvbox".',
    )
    scrollback: int = setting(
        1000, kind="int", check=_scrollback,
        help="Lines the full-screen log keeps in memory; older messages come back\n"
        "from the history when you scroll up to the top.",
    )
    bell: bool = setting(
        True, kind="bool", help="Ring the terminal bell when a message arrives while you are away."
    )
    keymap: dict[str, str] = setting(
        default_factory=dict, kind="keymap", check=_keymap,
        help="Remapped keys of the full-screen app: binding id = keys, as a table\n"
        '([keymap] then "app.quit" = "ctrl+x" on its own line) or inline:\n'
        'keymap = { "app.quit" = "ctrl+x", "app.help" = "f2" }. Ids are listed in FEATURES.md.',
    )
    # Set from the command line only.
    plain: bool = False
    debug: bool = False
    port_explicit: bool = False  # the port was chosen (not the default): a taken port is an error
    port_source: str = "command line"  # where it was chosen: "file PATH", "env VARIABLE", ...

    def __post_init__(self) -> None:
        self.accept_unknown = AcceptUnknown(self.accept_unknown)
        if isinstance(self.keymap, str):  # the older "id=keys, ..." form
            self.keymap = parse_keymap(self.keymap)
