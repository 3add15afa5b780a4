"""Decisions about a peer's identity: a new peer, or one whose key changed."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from p2pchat.session.events import IdentityPrompt
from p2pchat.ui.text import clean, group_fingerprint

CONFIRM_WORD = "accept"


# Keys that keep writing the message underneath while nothing in the dialog has the focus.
TYPING_KEYS = ("enter", "backspace", "ctrl+j")


class IdentityScreen(ModalScreen[bool]):
    """Answers True to trust the key, False to refuse it.

    The dialog opens by itself, maybe while you type: nothing in it has the focus until you
    Tab or click into it, and what you type meanwhile (Enter included) goes on into the
    message box, so no keystroke is lost and none answers the question by accident.
    """

    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("escape", "deny", "Deny", id="identity.deny"),
        # A chord, not a letter: the dialog opens by itself, maybe while you are typing.
        Binding("ctrl+a", "allow", "Allow", id="identity.allow"),
    ]

    def __init__(self, prompt: IdentityPrompt) -> None:
        classes = "identity-changed" if prompt.kind == "changed" else "identity-unknown"
        super().__init__(classes=classes)
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        peer = self.prompt.peer
        name = clean(peer.nickname, single_line=True)
        address = clean(peer.address, single_line=True)
        fingerprint = group_fingerprint(clean(peer.fingerprint, single_line=True))
        if self.prompt.kind == "changed":
            expected = group_fingerprint(clean(self.prompt.expected_fingerprint, single_line=True))
            body = Text()
            body.append(f"{name} at {address} presents a DIFFERENT key than last time.\n\n")
            body.append("Someone may be intercepting this connection, or your peer\n")
            body.append("reinstalled p2pchat. Check with them by another channel.\n\n")
            body.append("Key on record:\n  ")
            body.append(expected, style="bold")
            body.append("\nKey presented now:\n  ")
            body.append(fingerprint, style="bold")
            body.append(f"\n\nTo trust the new key, type '{CONFIRM_WORD}' below and press Accept.")
            with Vertical(classes="dialog warning-dialog"):
                yield Static("WARNING: THE PEER'S IDENTITY CHANGED", classes="dialog-title")
                yield Static(body, id="identity-body")
                yield Input(
                    placeholder=f"type {CONFIRM_WORD} to trust the new key", id="identity-confirm"
                )
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Deny", id="identity-deny", variant="primary")
                    yield Button(
                        "Accept new key", id="identity-accept", variant="error", disabled=True
                    )
        else:
            body = Text()
            body.append(f"{name} at {address} is a peer you have not met before.\n\n")
            body.append("Their fingerprint:\n  ")
            body.append(fingerprint, style="bold")
            body.append("\n\nCompare it with your peer (/verify) before sharing secrets.")
            body.append("\nctrl+a allows; Esc denies; typing goes on in the message box.", style="dim")
            with Vertical(classes="dialog"):
                yield Static("New peer", classes="dialog-title")
                yield Static(body, id="identity-body")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Allow", id="identity-accept", variant="success")
                    yield Button("Deny", id="identity-deny", variant="error")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "input_cursor_blink", True)

    async def on_key(self, event: events.Key) -> None:
        stack = self.app.screen_stack
        below = stack[stack.index(self) - 1] if stack.index(self) > 0 else None
        typing_into = below.focused if below is not None else None  # the input, or the draft
        if self.focused is not None or typing_into is None:
            return
        if event.is_printable or event.key in TYPING_KEYS:
            event.stop()
            event.prevent_default()
            if event.key == "backspace":  # queued like the keys, so it stays in their order
                typing_into.call_later(typing_into.action_delete_left)
            else:
                typing_into.post_message(events.Key(event.key, event.character))

    def on_input_changed(self, event: Input.Changed) -> None:
        ready = event.value.strip().lower() == CONFIRM_WORD
        self.query_one("#identity-accept", Button).disabled = not ready

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip().lower() == CONFIRM_WORD:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "identity-accept")

    def action_deny(self) -> None:
        self.dismiss(False)

    def action_allow(self) -> None:
        # A changed key is only accepted by typing the confirmation word, never by one key.
        if self.prompt.kind != "changed":
            self.dismiss(True)
