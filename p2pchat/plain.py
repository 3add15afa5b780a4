"""Line-mode front end: stdin lines in, one stdout line per event out.

For scripts, pipes and slow links. It uses the same `Session` API as the
full-screen app. Output format (stable, for scripts):

    [HH:MM:SS] <nick> message text      a chat message (continuation lines indented)
    [HH:MM:SS] * nick does something    a /me action
    * status text                        everything else
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time

from p2pchat import commands, dispatch
from p2pchat.display import (
    CHANGED_KEY_WORD,
    clean,
    describe,
    files_line,
    invite_lines,
    nick_changed_line,
    offer_line,
    offered_line,
    own_address,
    peer_whereabouts,
    result_line,
)
from p2pchat.identity import group_fingerprint
from p2pchat.session import Session, SessionAPI, StartError
from p2pchat.session import events as ev
from p2pchat.settings import Settings

YES, NO = ("y", "yes"), ("n", "no")  # a new peer's question; a changed key takes CHANGED_KEY_WORD
ANSWER_WORDS = (*YES, *NO, CHANGED_KEY_WORD)
DELIVERY_TIMEOUT = 30.0  # at end of input: how long to wait for acknowledgements
PROGRESS_EVERY = 5.0  # seconds between progress lines of one transfer (on stderr)


class PlainFrontEnd:
    def __init__(
        self, settings: Settings, out=None, session: SessionAPI | None = None, *, err=None, clock=time.monotonic,
        asks: bool | None = None,
    ) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.err = err or sys.stderr  # progress goes here, so stdout stays one line per event
        self.clock = clock
        self._progress_at: dict[int, float] = {}  # transfer id -> when its last progress line went out
        # Someone at a terminal answers trust questions on the next line; a script's pipe cannot.
        self.asks = sys.stdin.isatty() if asks is None else asks
        self.session: SessionAPI = session or Session(settings, interactive=self.asks)
        self.session.on_event = self.on_event
        self._question: ev.IdentityPrompt | None = None  # open until answered or expired
        self._pinged = False
        self._verify_asked = False
        self._said_kept = False  # that messages typed with no peer wait
        self._closed_question: str | None = None  # whose trust question closed unanswered, until the next line

    # -- output ----------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.out.write(f"* {text}\n")
        self.out.flush()

    def show_message(self, m: ev.ChatMessage) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(m.timestamp))
        nick = clean(m.sender, single_line=True)
        body = clean(m.body).replace("\n", "\n    ")
        line = f"[{stamp}] * {nick} {body}" if m.action else f"[{stamp}] <{nick}> {body}"
        self.out.write(line + "\n")
        self.out.flush()

    def show_progress(self, t: ev.TransferInfo) -> None:
        """A calm progress line on stderr: the first when the transfer starts, then every few seconds."""
        now = self.clock()
        last = self._progress_at.get(t.id)
        if last is not None and now - last < PROGRESS_EVERY:
            return
        self._progress_at[t.id] = now
        percent = t.done * 100 // t.size if t.size else 100
        self.err.write(f"* {clean(describe(t), single_line=True)} ({percent}%)\n")
        self.err.flush()

    def on_event(self, event: ev.Event) -> None:  # noqa: C901 - one branch per event
        if isinstance(event, ev.MessageReceived):
            self.show_message(event.message)
        elif isinstance(event, ev.Listening):
            self.say(f"listening on port {event.port}" + (f" ({event.note})" if event.note else ""))
            if address := self._own_address():
                self.say(f"your address for your peer: {address}")
        elif isinstance(event, ev.Dialing):
            if event.retry_in is not None:
                self.say(f"{clean(event.reason)}; retrying in {event.retry_in:g} s")
            elif event.attempt == 1:
                self.say(f"connecting to {event.address}")
        elif isinstance(event, ev.Connected):
            p = event.peer
            security = f"encrypted, fingerprint {p.short_fingerprint}" if p.encrypted else "UNENCRYPTED"
            again = "reconnected" if event.resumed else "connected"
            where = peer_whereabouts(p) + (", direct" if p.route == "direct" else "")
            self.say(f"{again} to {clean(p.nickname, single_line=True)} {where} ({security})")
            self._said_kept = False
        elif isinstance(event, ev.Disconnected):
            self.say(clean(event.reason, single_line=True))
        elif isinstance(event, ev.NickChanged) and event.by_peer:
            self.say(clean(nick_changed_line(event.old, event.new, by_peer=True), single_line=True))
        elif isinstance(event, ev.RttMeasured) and self._pinged:
            self._pinged = False
            self.say(f"round trip {event.rtt_ms:.2f} ms")
        elif isinstance(event, ev.TransferOffered):
            t = event.transfer
            peer = self.session.peer.nickname if self.session.peer else "the peer"
            self.say(clean(offer_line(t, peer), single_line=True) + f": /accept {t.id} or /decline {t.id}")
            if listed := files_line(t):
                self.say(listed)
        elif isinstance(event, ev.TransferUpdated):
            if event.transfer.state.final:
                self._progress_at.pop(event.transfer.id, None)
                self.say(clean(result_line(event.transfer), single_line=True))
            elif event.transfer.state == "active":
                self.show_progress(event.transfer)
        elif isinstance(event, ev.HistoryLoaded):
            self.say(f"{len(event.messages)} earlier messages with this peer are in the history")
        elif isinstance(event, ev.Notice):
            self.say(clean(event.text, single_line=True))
        elif isinstance(event, ev.IdentityPrompt):
            self._question = event
            self.say(clean(trust_question(event), single_line=True))
        elif isinstance(event, ev.IdentityPromptExpired):
            self._question = None
            self._closed_question = event.peer.nickname  # a y or n typed next was meant for it
            why = "the connection ended first" if event.withdrawn else "not answered in time"
            self.say(f"the question about {clean(event.peer.nickname, single_line=True)}'s key is closed: {why}")

    # -- input -----------------------------------------------------------------------
    async def handle_line(self, line: str) -> bool:
        """Act on one line of input; False once the user asked to quit."""
        line = line.rstrip("\r\n")
        if not line.strip():
            return True
        if self._question is not None and self._answers(line.strip().lower()):
            return True
        if self._closed_question is not None and line.strip().lower() in ANSWER_WORDS:
            # Typed for a question that just closed: as a chat line it would go to the next peer.
            self.say(f"no question is open (the one about {clean(self._closed_question, single_line=True)}'s "
                     f"key was closed): {line.strip()!r} was not sent; type it again to send it")
            self._closed_question = None
            return True
        self._closed_question = None
        try:
            command = commands.parse(line)
            if command is None:
                self.session.send_text(commands.as_message(line))
                if self.session.peer is None and not self._said_kept:
                    self._said_kept = True  # once until a peer is there
                    self.say("no peer is connected: messages are kept and go out once a chat is up (to the peer you last chatted with, if any)")
                return True
            return await self.run_command(command)
        except Exception as exc:  # a bad command, path or id must not end the chat
            self.say(f"error: {exc}")
        return True

    async def run_command(self, c: commands.Command) -> bool:
        s = self.session
        if c.name in dispatch.SESSION_COMMANDS:
            pending = dispatch.run(self, s, c)
            if pending is not None:
                await pending
        elif c.name == "quit":
            return False
        elif c.name == "help":
            self.out.write(commands.help_text(c.args[0] if c.args else None) + "\n")
        elif c.name == "ping":
            self._pinged = True
            s.ping()
        elif c.name == "verify":
            if not s.short_code:
                self.say("nothing to verify: no encrypted peer connected")
            elif self._verify_asked:
                s.verify_peer()
            else:
                self.say(f"short code: {s.short_code}. If your peer reads the same words, type /verify again")
            self._verify_asked = bool(s.short_code) and not self._verify_asked
        elif c.name == "invite":
            offer = await s.invite()
            for text, _level in invite_lines(offer, "p2pchat --connect or /connect"):
                if text == offer.line:
                    self.out.write(text + "\n")  # alone on its line, to copy
                else:
                    self.say(text)
        return True  # /clear: nothing to clear in a stream of lines

    def _answers(self, word: str) -> bool:
        """The open trust question takes a yes or no; any other line is chat or a command."""
        changed = self._question is not None and self._question.kind == "changed"
        yes = {CHANGED_KEY_WORD} if changed else set(YES)
        if changed and word in YES:  # too quick a yes for a key that changed
            self.say(f"a changed key takes the word {CHANGED_KEY_WORD}, or n to refuse")
            return True
        if word not in yes | set(NO):
            return False
        self._question = None
        self.session.answer_identity(word in yes)
        return True

    # -- what the shared commands say (dispatch.FrontEnd) -------------------------------------
    def show(self, text: str, level: str = "system") -> None:
        self.say(clean(text, single_line=True))

    def offered(self, transfers: list[ev.TransferInfo]) -> None:
        self.say(clean(offered_line(transfers), single_line=True))

    def answered(self, transfer_id: int, done: str) -> None:
        pass  # the transfer's own events say what follows

    def renamed(self) -> None:
        pass

    def more_info(self) -> list[str]:
        address = self._own_address()
        return [f"your address: {address} (/invite makes a one-time line that also works through relays)"] if address else []

    def _own_address(self) -> str:
        settings = self.settings
        return own_address(self.session.listening_port, self.session.own_fingerprint, tls=settings.tls,
                           bind=settings.bind)


def trust_question(prompt: ev.IdentityPrompt) -> str:
    """The trust question on one line, answered on the next."""
    peer = prompt.peer
    fingerprint = group_fingerprint(peer.fingerprint)
    if prompt.kind == "changed":
        return (
            f"WARNING: {peer.nickname} at {peer.address} presents a DIFFERENT key than last time "
            f"(on record {group_fingerprint(prompt.expected_fingerprint)}, now {fingerprint}): someone "
            f"may be intercepting. Type {CHANGED_KEY_WORD} to trust the new key, n to refuse"
        )
    return (
        f"new peer {peer.nickname} at {peer.address}, fingerprint {fingerprint}: "
        "trust it? Type y or n (other lines are sent as usual)"
    )


def undelivered(session: SessionAPI) -> str:
    """`2 message(s)`, `1 transfer(s)`, or both: what is still on its way."""
    sending = [t for t in session.transfers if t.direction == "send" and not t.state.final]
    parts = [f"{session.unacked_count} message(s)"] if session.unacked_count or not sending else []
    if sending:
        parts.append(f"{len(sending)} transfer(s) ({', '.join('#' + str(t.id) for t in sending)})")
    return " and ".join(parts)


def _read_stdin(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    """Blocking reads in a thread: works for ttys, pipes and plain files alike."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def _main(settings: Settings) -> int:
    front = PlainFrontEnd(settings)
    session = front.session
    try:
        await session.start()
    except StartError as exc:
        print(f"p2pchat: error: {exc}", file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    queue: asyncio.Queue = asyncio.Queue()
    threading.Thread(target=_read_stdin, args=(loop, queue), daemon=True).start()
    status = 0
    while True:
        getter = asyncio.ensure_future(queue.get())
        stopper = asyncio.ensure_future(stop.wait())
        finished, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in finished:
            getter.cancel()
            break
        stopper.cancel()
        line = getter.result()
        if line is None:  # end of input: deliver what was typed, then leave
            if not await session.wait_delivered(DELIVERY_TIMEOUT):
                front.say(f"{undelivered(session)} not delivered; giving up")
                status = 1
            break
        if not await front.handle_line(line):
            break
    await session.quit("quit")
    return status


def run_plain(settings: Settings) -> int:
    return asyncio.run(_main(settings))
