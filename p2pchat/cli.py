"""Command line: `p2pchat [options]`, `p2pchat config ...`, `p2pchat id`, `p2pchat peers`.

User mistakes end with one line, `p2pchat: error: ...`, on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from p2pchat import __version__
from p2pchat.config import (
    KEYS,
    ConfigError,
    default_config_path,
    format_value,
    get_value,
    load_settings,
    set_value,
    write_default_config,
)
from p2pchat.net.address import guess_lan_host, parse_port
from p2pchat.paths import get_paths
from p2pchat.settings import Settings

PROG = "p2pchat"
USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line or in the settings; the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _port(text: str) -> int:
    try:
        return parse_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _address(text: str) -> str:
    from p2pchat.reach.target import parse_target

    try:
        parse_target(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text.strip()


def _add_config_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--config", dest="config_path", metavar="PATH", type=Path, default=default,
        help="settings file to use instead of the default one",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Peer-to-peer terminal chat and file transfer for two people, over TLS.",
        epilog="Run without options to open the app on its connect screen. "
        "Settings: p2pchat config show.",
    )
    parser.add_argument("--port", type=_port, metavar="N",
                        help="TCP port to listen on (must be free when given; 0 picks one)")
    parser.add_argument("--bind", metavar="ADDR", help='address to listen on (default "::", all)')
    parser.add_argument("--connect", type=_address, metavar="HOST:PORT",
                        help="dial this peer at start (HOST:PORT, [v6]:PORT, p2pchat://... "
                        "address, an invite line, or a code such as 7-crossover-clockwork)")
    parser.add_argument("--rendezvous", metavar="URL",
                        help="magic-wormhole mailbox server for codes (ws://HOST:PORT/v1; "
                        '"" turns codes off)')
    parser.add_argument("--relay", metavar="tcp:HOST:PORT",
                        help="transit relay(s) to use when no direct connection works "
                        "(comma-separated, tried in order)")
    parser.add_argument("--no-port-mapping", action="store_true",
                        help="do not ask the router to forward the port (UPnP, NAT-PMP)")
    parser.add_argument("--no-discovery", action="store_true",
                        help="do not announce on the local network nor list who is there")
    parser.add_argument("--nickname", metavar="NAME", help="your name as the peer sees it")
    parser.add_argument("--no-tls", action="store_true", help="no encryption (testing only)")
    parser.add_argument("--plain", action="store_true",
                        help="line-by-line mode instead of the full-screen app")
    parser.add_argument("--download-dir", metavar="DIR", help="where received files are saved")
    parser.add_argument("--auto-accept", action="store_true", help="accept every offered file")
    parser.add_argument("--no-history", action="store_true", help="do not save the chat history")
    _add_config_option(parser, None)
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    parser.add_argument("--log-level", metavar="LEVEL", help="log file detail (DEBUG, INFO, ...)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    config = commands.add_parser(
        "config", help="write the commented settings file, or show/get/set settings",
        description="Without a subcommand: write the commented settings file.",
    )  # fmt: skip
    config.add_argument("--force", action="store_true", help="replace an existing settings file")
    _add_config_option(config, argparse.SUPPRESS)
    actions = config.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="settings in effect, where each came from, log file")
    path = actions.add_parser("path", help="print the settings file path")
    get = actions.add_parser("get", help="print one setting in effect")
    get.add_argument("key", metavar="KEY")
    set_ = actions.add_parser("set", help="check a value and write it to the settings file")
    set_.add_argument("key", metavar="KEY")
    set_.add_argument("value", metavar="VALUE")
    for sub in (show, path, get, set_):
        _add_config_option(sub, argparse.SUPPRESS)
    identity = commands.add_parser("id", help="print your fingerprint and the address to share")
    _add_config_option(identity, argparse.SUPPRESS)
    invite = commands.add_parser(
        "invite", help="print a code and a one-time invite line for a new peer (p2pchat --connect CODE)",
        description="The code (such as 7-crossover-clockwork) is made on the rendezvous server and "
        "is good for one meeting: this command waits until your peer has used it. The line below it "
        "holds your fingerprint, addresses and relays, and a secret good for one peer within 24 hours, "
        "for when no rendezvous server can be reached. A p2pchat running now or started later waits "
        "for that peer.",
    )  # fmt: skip
    invite.add_argument("--no-code", action="store_true", help="print the invite line only")
    _add_config_option(invite, argparse.SUPPRESS)
    peers = commands.add_parser(
        "peers", help="list the peers whose keys you know, or forget one",
        description="Without a subcommand: list the peers whose keys you know.",
    )  # fmt: skip
    peers.add_argument("--full", action="store_true",
                       help="whole fingerprints and when each peer was first seen (a wide table)")
    peer_actions = peers.add_subparsers(dest="peers_action", metavar="ACTION")
    forget = peer_actions.add_parser(
        "forget", help="forget a peer's key, so that a new key of that peer can be accepted",
    )  # fmt: skip
    forget.add_argument("prefix", metavar="FINGERPRINT_OR_PREFIX",
                        help="the fingerprint, or enough of its start to name one peer")
    return parser


def _cli_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
        overrides["port_explicit"] = True
    for option, key in (("bind", "bind"), ("nickname", "nickname"), ("relay", "relay"),
                        ("rendezvous", "rendezvous"), ("download_dir", "download_dir"), ("log_level", "log_level")):
        if getattr(args, option) is not None:
            overrides[key] = getattr(args, option)
    if args.connect is not None:
        overrides["connect"] = args.connect
    if args.no_tls:
        overrides["tls"] = False
    if args.no_port_mapping:
        overrides["port_mapping"] = False
    if args.no_discovery:
        overrides["discoverable"] = False
    if args.plain:
        overrides["plain"] = True
    if args.auto_accept:
        overrides["auto_accept_files"] = True
    if args.no_history:
        overrides["save_history"] = False
    if args.debug:
        overrides["debug"] = True
        overrides.setdefault("log_level", "DEBUG")
    return overrides


def settings_from_args(argv: list[str]) -> tuple[Settings, dict[str, str]]:
    """The Settings the app would run with for these arguments, and each value's source.

    Raises UsageError or ConfigError (one-line messages) on a mistake.
    """
    args = build_parser().parse_args(argv)
    return load_settings(_cli_overrides(args), args.config_path)


# -- subcommands -------------------------------------------------------------------


def _config_file(args: argparse.Namespace) -> Path:
    return args.config_path if args.config_path is not None else default_config_path()


def _display(key: str, settings: Settings) -> str:
    value = getattr(settings, key)
    if key == "download_dir" and value is None:
        return f"{get_paths().downloads_dir} (your Downloads folder)"
    return format_value(key, value)


def _config_show(args: argparse.Namespace) -> int:
    settings, sources = load_settings(_cli_overrides(args), args.config_path)
    path = _config_file(args)
    shown = {key: _display(key, settings) for key in KEYS}
    key_width = max(map(len, shown))
    value_width = max(map(len, shown.values()))
    state = "" if path.exists() else "  (not created yet: p2pchat config)"
    print(f"settings file: {path}{state}")
    print(f"log file:      {get_paths().log_file}")
    print()
    for key, value in shown.items():
        print(f"{key:<{key_width}} = {value:<{value_width}}  ({sources[key]})")
    return 0


def _config(args: argparse.Namespace) -> int:
    action = args.action
    path = _config_file(args)
    if action is None:
        write_default_config(path, force=args.force)
        print(f"wrote {path}")
        return 0
    if action == "path":
        print(path)
        return 0
    if action == "show":
        return _config_show(args)
    if action == "get":
        value, _source = get_value(args.key, args.config_path)
        print(value)
        return 0
    value = set_value(path, args.key, args.value)
    key = args.key.strip().lower().replace("-", "_")
    print(f"{key} = {format_value(key, value)} (in {path})")
    return 0


def _port_to_share(args: argparse.Namespace, settings: Settings) -> tuple[int, str]:
    """The port to name to a peer: --port if given, else the one the p2pchat running with
    these files listens on, else the settings' with a note (nothing can check it then)."""
    if args.port is not None:
        return args.port, ""
    from p2pchat.running import live_port

    live = live_port(get_paths().running_file)
    if live is not None:
        return live, ""
    return settings.port, (f"no p2pchat is running with these files, so this names port {settings.port} "
                           "(the settings'): it works once p2pchat listens there")


def _identity(args: argparse.Namespace) -> int:
    settings, _sources = load_settings(_cli_overrides(args), args.config_path)
    try:
        from p2pchat.identity import Identity, group_fingerprint, share_address
    except ModuleNotFoundError as error:
        if error.name != "p2pchat.identity":
            raise
        raise UsageError("this build has no identity support") from None
    from p2pchat.identity import IdentityError

    try:
        identity = Identity.load_or_create(get_paths().identity_dir)
    except IdentityError as error:
        raise UsageError(str(error)) from None
    print(f"fingerprint: {group_fingerprint(identity.fingerprint)}")
    port, note = _port_to_share(args, settings)
    address = share_address(guess_lan_host(settings.bind), port, identity.fingerprint)
    print(f"share:       {address}")
    if note:
        print(f"note:        {note}")
    print(f"peer runs:   p2pchat --connect {address}")
    return 0


def _invite(args: argparse.Namespace) -> int:
    from p2pchat.identity import Identity, IdentityError
    from p2pchat.protocol.transit import parse_relays
    from p2pchat.reach.invites import Invites, make_invite

    settings, _sources = load_settings(_cli_overrides(args), args.config_path)
    if not settings.tls:
        raise UsageError("invites need TLS (remove --no-tls / tls = false)")
    paths = get_paths()
    try:
        identity = Identity.load_or_create(paths.identity_dir)
    except IdentityError as error:
        raise UsageError(str(error)) from None
    invites = Invites(paths.invites_file)
    port, note = _port_to_share(args, settings)
    if note:
        print(f"note: {note}", file=sys.stderr)
    line, summary = make_invite(
        invites, identity.fingerprint, port, parse_relays(settings.relay), bind=settings.bind,
    )
    if args.no_code:
        print(f"invite {summary}; your peer runs: p2pchat --connect LINE", file=sys.stderr)
        print(line)
        return 0
    import asyncio

    return asyncio.run(_serve_code(settings.rendezvous, invites, line, summary, identity.fingerprint))


async def _serve_code(url: str, invites, line: str, summary: str, fingerprint: str) -> int:
    """Print the code and the line, then wait until the code is used: 0 if someone was introduced."""
    from p2pchat.protocol.invite import parse_invite
    from p2pchat.reach.codes import introduce, open_code

    meeting, no_code = await open_code(url, line)
    if meeting is None:
        print(f"{no_code}; invite {summary}; your peer runs: p2pchat --connect LINE", file=sys.stderr)
        print(line)
        return 0
    print(meeting.code)
    print(line, flush=True)
    print(f"your peer runs: p2pchat --connect {meeting.code} (or --connect LINE: {summary}); "
          "waiting for the code to be used (ctrl+c stops waiting; the line still works)", file=sys.stderr, flush=True)
    said = lambda text, level: print(text, file=sys.stderr)  # noqa: E731
    return 0 if await introduce(meeting, invites, parse_invite(line).secret, fingerprint, said) else 1


def _known_peers():
    from p2pchat.identity import IdentityError, KnownPeers

    try:
        return KnownPeers.load(get_paths().known_peers_file)
    except IdentityError as error:
        raise UsageError(str(error)) from None


def _seen(when) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def _list_peers(known, full: bool) -> int:
    from p2pchat.display import clean
    from p2pchat.identity import group_fingerprint, short_fingerprint

    records = known.all()
    if not records:
        print(f"no known peers yet ({known.path})")
        return 0
    # 80 columns by default: the fingerprint's start names a peer for `peers forget`.
    rows = [("NICKNAME", "FINGERPRINT", "ADDRESS", *(("FIRST SEEN",) if full else ()), "LAST SEEN", "VERIFIED")]
    rows += [
        (clean(peer.nickname, single_line=True),
         group_fingerprint(peer.fingerprint) if full else short_fingerprint(peer.fingerprint),
         peer.address or "-", *((_seen(peer.first_seen),) if full else ()), _seen(peer.last_seen),
         "yes" if peer.verified else "no")
        for peer in records
    ]  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _forget_peer(known, prefix: str) -> int:
    from p2pchat.display import clean
    from p2pchat.identity import IdentityError, group_fingerprint, normalise_fingerprint

    wanted = normalise_fingerprint(prefix)
    matches = [peer for peer in known.all() if wanted and peer.fingerprint.startswith(wanted)]
    if not matches:
        raise UsageError(f"no known peer has a fingerprint starting with {prefix!r} (p2pchat peers lists them)")
    if len(matches) > 1:
        names = ", ".join(
            f"{clean(peer.nickname, single_line=True)} {group_fingerprint(peer.fingerprint)}"
            for peer in matches
        )
        raise UsageError(f"{prefix!r} matches {len(matches)} known peers ({names}); give more of the fingerprint")
    peer = matches[0]
    try:
        known.forget(peer.fingerprint)
    except IdentityError as error:  # the file cannot be written
        raise UsageError(str(error)) from None
    print(f"forgot {clean(peer.nickname, single_line=True)} {group_fingerprint(peer.fingerprint)}; "
          "the next key shown under that name or address is treated as new")
    return 0


def _peers(args: argparse.Namespace) -> int:
    known = _known_peers()
    if args.peers_action == "forget":
        return _forget_peer(known, args.prefix)
    return _list_peers(known, args.full)


# -- the app ---------------------------------------------------------------------------


def _run_front_end(settings: Settings, *, port_on_command_line: bool) -> int:
    from p2pchat import heap

    heap.tune()  # before any thread starts: a thread's heap is chosen when it first allocates
    early_line = False
    if settings.plain or settings.connect is not None or port_on_command_line:
        # Listen before the front end and the session are imported (the app's first frame
        # then says so); without these the app asks for a port on its connect screen first.
        from p2pchat.net.bind import bind_early

        port = bind_early(settings.bind, settings.port)
        early_line = not settings.plain and port is not None and _say_listening(port)
    module = "p2pchat.plain" if settings.plain else "p2pchat.ui.app"
    try:
        if settings.plain:
            from p2pchat.plain import run_plain
        else:
            from p2pchat.ui.app import run_app
    except ModuleNotFoundError as error:
        if error.name is None or not module.startswith(error.name):
            raise
        raise UsageError(f"this build has no {'plain mode' if settings.plain else 'app'}") from None
    if settings.plain:  # the app sets up its log after its first frame, with its session
        from p2pchat.log import setup_logging

        setup_logging(settings, get_paths())
        return run_plain(settings)
    # The connect screen opens unless the command line said whom to call or where to listen
    # (a port from the settings file is only its starting value).
    try:
        return run_app(settings, show_connect_screen=settings.connect is None and not port_on_command_line)
    finally:
        if early_line:  # no longer true: the terminal is left as it was before
            sys.stdout.write("\x1b[1F\x1b[2K")
            sys.stdout.flush()


def _say_listening(port: int) -> bool:
    """The socket is bound: say so on the terminal at once, before the full-screen app takes
    a few hundred milliseconds to import and draw its first frame. Peers that dial meanwhile
    wait in the kernel's queue. True when said (stdout is a terminal)."""
    if not sys.stdout.isatty():
        return False
    sys.stdout.write(f"p2pchat: listening on port {port}, opening the window...\n")
    sys.stdout.flush()
    return True


def _printed(code: int) -> int:
    """Flush stdout now, so a reader that left early raises BrokenPipeError inside main()."""
    sys.stdout.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help and --version
            return int(done.code or 0)
        if args.command == "config":
            return _printed(_config(args))
        if args.command == "id":
            return _printed(_identity(args))
        if args.command == "invite":
            return _printed(_invite(args))
        if args.command == "peers":
            return _printed(_peers(args))
        settings, _sources = load_settings(_cli_overrides(args), args.config_path)
        return _run_front_end(settings, port_on_command_line=args.port is not None)
    except (UsageError, ConfigError) as error:
        message = " ".join(str(error).split())  # one line, whatever the cause held
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left early (`p2pchat id | head -1`): nothing to say, and no traceback
        # when Python flushes stdout on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as if killed by SIGPIPE, like other command-line tools
