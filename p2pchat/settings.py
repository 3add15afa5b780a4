"""The typed settings object every layer receives; built once by `p2pchat.config`."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path


def _default_nickname() -> str:
    try:
        return getpass.getuser()[:32] or "me"
    except Exception:
        return "me"


@dataclass
class Settings:
    nickname: str = field(default_factory=_default_nickname)
    port: int = 8080
    bind: str = "::"  # all interfaces, IPv4 and IPv6 where the OS allows both
    connect: str | None = None  # HOST:PORT, p2pchat://HOST:PORT/FINGERPRINT or an invite
    relay: str = ""  # transit relays, "tcp:HOST:PORT" separated by commas, tried in order
    tls: bool = True
    port_mapping: bool = True  # ask the router (UPnP IGD, NAT-PMP) to forward the port
    discoverable: bool = True  # announce on the local network (mDNS) and list who else does
    heartbeat_interval: float = 5.0
    heartbeat_timeout: float = 15.0
    handshake_timeout: float = 10.0
    reconnect: float = 60.0  # cap, in seconds, of the backoff between reconnect attempts
    download_dir: Path | None = None  # None: the platform's Downloads folder
    auto_accept_files: bool = False
    accept_unknown: str = "ask"  # ask | always | never
    max_file_size: int = 16 * 1024**3
    save_history: bool = True
    log_level: str = "INFO"
    theme: str = "textual-dark"
    bell: bool = True
    keymap: str = ""  # "binding.id=keys, ...": remapped key bindings of the full-screen app
    # Set from the command line only.
    plain: bool = False
    debug: bool = False
    port_explicit: bool = False  # the user asked for this port: a taken port is an error
