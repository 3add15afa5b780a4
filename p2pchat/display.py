"""What both front ends show, made the same way: safe text, sizes, transfers.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a terminal: control characters and escape
sequences become visible placeholders, so a peer cannot move the cursor, retitle
the window or hide text.
"""

from __future__ import annotations

import re

from p2pchat.session.events import CodeInvite, LanPeer, PeerInfo, TransferInfo, TransferState


def format_size(n: int | float) -> str:
    """`1536` -> `1.5 KiB`, as transfers count. The transfer package is imported on first
    use: the app's first frame does not wait for it."""
    from p2pchat.transfer.progress import format_size as size

    return size(n)


def percent(part: int, whole: int) -> int:
    """Whole percent, rounded down: `resumed at 14%` and the panel's `14%` agree."""
    from p2pchat.transfer.progress import percent as whole_percent

    return whole_percent(part, whole)


# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional
# overrides that can make text display in a different order than it was sent.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _placeholder(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, *, single_line: bool = False) -> str:
    """Replace control characters and escape sequences with visible placeholders."""
    text = _UNSAFE.sub(_placeholder, text).replace("\t", "    ")
    if single_line:
        text = text.replace("\n", " ")
    return text


def shorten_middle(text: str, width: int) -> str:
    """`holiday-pictures-2024.mkv` -> `holiday-p…2024.mkv`: both ends stay readable."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"


def pick_transfer(transfers: list[TransferInfo], command: str, arg: str | None) -> int:
    """The transfer `/accept`, `/decline` or `/cancel` means: the id given (`3` or `#3`), or
    the only one it can apply to. Raises ValueError with a hint for the user."""
    if arg is not None:
        text = arg.lstrip("#")
        if not text.isdigit():
            raise ValueError(f"/{command}: {arg!r} is not a transfer id")
        return int(text)
    if command == "cancel":
        candidates = [t for t in transfers if t.state.live]
    else:
        candidates = [t for t in transfers if t.state == "offered" and t.direction == "receive"]
    if len(candidates) == 1:
        return candidates[0].id
    if not candidates:
        raise ValueError(f"/{command}: no transfer to {command}")
    ids = ", ".join(f"#{t.id} {t.name}" for t in candidates)
    raise ValueError(f"/{command}: which one? {ids} (e.g. /{command} {candidates[0].id})")


CHANGED_KEY_WORD = "accept"  # typed to trust a changed key, in every front end: the whole word
RATE_TIMED_FROM = 1.0  # seconds: a transfer over sooner names no rate (6 bytes "at 555 B/s" says nothing)


def offered_line(transfers: list[TransferInfo]) -> str:
    """What /send just offered: `offered #1 pics/ (4 files, 300.1 MiB)`, and, with nobody
    connected, that it goes out once a peer is there."""
    line = "offered " + ", ".join(
        f"#{t.id} {t.name} (" + (f"{t.file_count} files, " if t.file_count > 1 else "") + f"{format_size(t.size)})"
        for t in transfers)
    if any(t.state == "waiting" for t in transfers):
        line += "; no peer is connected: it goes out once one is"
    return line


def result_line(info: TransferInfo) -> str:
    """One line for a finished transfer, the same in every front end."""
    if info.state == "done":
        verb = "received" if info.direction == "receive" else "sent"
        where = f" to {info.path}" if info.direction == "receive" and info.path else ""
        figures = [format_size(info.size)]
        if info.file_count > 1:
            figures.insert(0, f"{info.file_count} files")
        if info.resumed_from:
            figures.append(f"{format_size(info.size - info.resumed_from)} of it this time")
        moved = info.size - info.resumed_from
        if info.speed > 0 and moved / info.speed >= RATE_TIMED_FROM:  # an instant one has no meaningful rate
            figures.append(f"{format_size(info.speed)}/s")
        return f"#{info.id} {info.name} {verb}{where} ({', '.join(figures)})"
    return f"#{info.id} {info.name} {_state_and_reason(info)}"


def _state_and_reason(info: TransferInfo) -> str:
    """`declined`, `cancelled by bob`, `failed: disk full`: the reason never repeats the state."""
    reason = info.reason
    if not reason or reason == info.state:
        return str(info.state)
    if reason.startswith(info.state + " "):
        return reason
    return f"{info.state}: {reason}"


def resume_note(info: TransferInfo) -> str:
    """`resumes an interrupted download at 14%`, or "" for an offer that starts afresh."""
    if not info.resumed_from:
        return ""
    return f"resumes an interrupted download at {percent(info.resumed_from, info.size)}%"


def offer_line(info: TransferInfo, peer: str) -> str:
    """What an incoming offer is, the same in every front end."""
    figures = [format_size(info.size)]
    if info.file_count > 1:
        figures.insert(0, f"{info.file_count} files")
    if note := resume_note(info):
        figures.append(note)
    return f"{peer} offers #{info.id} {info.name} ({', '.join(figures)})"


LISTED_NAMES = 5  # file names an offer of several files shows; the rest are counted
LISTED_NAME_WIDTH = 60  # characters of one listed name; a longer one is shortened in the middle


def listed_files(info: TransferInfo, shown: int = LISTED_NAMES) -> tuple[list[str], str]:
    """A batch's first files (`a.jpg (1.0 KiB)` each, made safe) and what sums up the rest
    (`and 37 more, 1.2 MiB in all`): what it holds, before anyone accepts it."""
    names = [f"{shorten_middle(clean(name, single_line=True), LISTED_NAME_WIDTH)} ({format_size(size)})"
             for name, size in info.listing[:shown]]  # fmt: skip
    rest = info.file_count - len(names)
    if rest <= 0 and len(names) <= 1:
        return names, ""  # one file: its size says it all
    more = (f"and {rest} more" if names else f"{rest} files") + ", " if rest > 0 else ""
    return names, f"{more}{format_size(info.size)} in all"


def listing_text(info: TransferInfo) -> str:
    """`a.jpg (1.0 KiB), b.jpg (2.0 KiB) and 38 more, 1.2 MiB in all`; "" for a file on its own."""
    if info.file_count <= 1 and not info.listing:
        return ""
    names, total = listed_files(info)
    if not names or not total:
        return total or names[0]
    return ", ".join(names) + (" " if total.startswith("and ") else ", ") + total


def files_line(info: TransferInfo) -> str:
    """The offer's second line: `#2 photos/: a.jpg (1.0 KiB), ... and 38 more, 1.2 MiB in all`."""
    listed = listing_text(info)
    return f"#{info.id} {clean(info.name, single_line=True)}: {listed}" if listed else ""


def describe(info: TransferInfo) -> str:
    """One /transfers line: bytes, and while it moves, speed and time left."""
    arrow = "->" if info.direction == "send" else "<-"
    done = f"{format_size(info.done)}/{format_size(info.size)}"
    files = f" ({info.files_done}/{info.file_count} files)" if info.file_count > 1 else ""
    line = f"#{info.id} {arrow} {info.name}{files} {done} "
    if info.state is TransferState.ACTIVE:
        speed = f"{format_size(info.speed)}/s" if info.speed > 0 else "speed not measured yet"
        return line + f"{info.state}, {speed}, {human_duration(info.eta)} left"
    if info.state is TransferState.OFFERED and (note := resume_note(info)):
        return line + f"{info.state} ({note})"
    if info.reason.startswith(info.state + " "):  # `cancelled by bob`: the reason says the state
        return line + info.reason
    if info.reason and info.reason != info.state:
        return line + f"{info.state} ({info.reason})"
    return line + str(info.state)


def peer_whereabouts(peer: PeerInfo) -> str:
    """`at HOST:PORT`, or `via relay HOST:PORT`: a relayed peer's address is the relay's."""
    return f"at {peer.address}" if peer.route == "direct" else peer.route


def nick_changed_line(old: str, new: str, by_peer: bool) -> str:
    """`bob is now known as robert`, or `you are now known as robert` for your own change."""
    return f"{old} is now known as {new}" if by_peer else f"you are now known as {new} (was {old})"


def transfer_lines(transfers: list[TransferInfo]) -> list[str]:
    """What /transfers shows, the same in both front ends, made safe for a terminal."""
    if not transfers:
        return ["no transfers"]
    lines = []
    for t in transfers:
        lines.append(clean(describe(t), single_line=True))
        if t.state == "offered" and (listed := listing_text(t)):
            lines.append("    " + listed)  # what it holds, before it is answered
    return lines


def describe_lan_peers(peers: list[LanPeer], discoverable: bool) -> list[str]:
    """The lines /peers shows (both front ends)."""
    if not discoverable:
        return ["LAN discovery is off (discoverable = false)"]
    if not peers:
        return ["no other p2pchat announces itself on the local network"]
    return [f"{number}. {peer.nickname} ({peer.short_fingerprint}, {'known' if peer.known else 'new'}) "
            f"at {peer.host}:{peer.port}" for number, peer in enumerate(peers, 1)] + [
        "/peers N connects to number N (its fingerprint is checked)"]


def pick_lan_peer(peers: list[LanPeer], text: str) -> LanPeer:
    """The peer numbered `text` in the last /peers list; ValueError saying what to type."""
    if not text.isdigit() or not 1 <= int(text) <= len(peers):
        raise ValueError(f"no peer number {text} on the local network: /peers lists them"
                         if peers else "nobody announces p2pchat on the local network right now")
    return peers[int(text) - 1]


def invite_lines(offer: CodeInvite, where: str) -> list[tuple[str, str]]:
    """What /invite shows, as (text, level): the code first, then the long line for when no
    rendezvous server can be reached. `where`: how the peer enters it in this front end."""
    lines = []
    if offer.code:
        lines.append((f"code: {offer.code}  (your peer types it into {where}; good for one meeting)", "system"))
    else:
        lines.append((offer.no_code, "warning"))
    lines.append((f"or this invite line ({offer.summary}), pasted the same way:" if offer.code
                  else f"this invite line ({offer.summary}), which your peer pastes into {where}:", "system"))
    lines.append((offer.line, "system"))
    return lines


def own_address(port: int | None, fingerprint: str, *, tls: bool = True, bind: str = "::") -> str:
    """The address to give your peer: `p2pchat://HOST:PORT/FINGERPRINT` (HOST:PORT without TLS);
    "" while the port is not known yet (0 means one is picked when listening). The identity and
    network modules are imported on first use: the app's first frame does not wait for them."""
    if not port:
        return ""
    from p2pchat.identity import share_address
    from p2pchat.net.address import guess_lan_host

    host = guess_lan_host(bind)
    if not tls or not fingerprint:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return share_address(host, port, fingerprint)
