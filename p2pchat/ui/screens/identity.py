"""Decisions about a peer's identity: a new peer, or one whose key changed."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from p2pchat.display import CHANGED_KEY_WORD
from p2pchat.session.events import IdentityPrompt
from p2pchat.ui.screens.typing_below import typing_target
from p2pchat.ui.text import clean, fold_groups, group_fingerprint

# Keys that keep writing the message underneath while nothing in the dialog has the focus,
# posted to it in order; the message box's other keys (ctrl+a, arrows...) run its bindings there.
TYPING_KEYS = ("enter", "backspace", "ctrl+j", "shift+enter", "escape")
# Keys that move the focus into the dialog: the one deliberate way to start answering it.
FOCUS_KEYS = ("tab", "shift+tab")
SHORT_TERMINAL = 24  # rows: below, the question drops its blank rows and mouse-only buttons
KEY_NAMES = {"escape": "Esc", "enter": "Enter", "space": "Space"}  # as the hint names them
TO_ANSWER = "Tab to answer; until then, typing goes on in the message box."
ANSWERING = "{allow} allows · {deny} denies · Tab goes back to typing."


class Question(Static, can_focus=True):
    """The new-peer question; its keys work only once it has the focus."""

    BINDINGS = [
        Binding("a", "screen.allow", "Allow", id="identity.allow"),
        Binding("d,escape", "screen.deny", "Deny", id="identity.deny"),
        # Listed in /help; IdentityScreen.on_key takes it first, in key order.
        Binding("tab,shift+tab", "screen.back_to_typing", "Back to typing", show=False),
    ]

    def __init__(self, body: Text, answering: str = ANSWERING, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = body
        self._answering = answering  # the hint once focused, naming the keys (as remapped)

    def on_mount(self) -> None:
        self._show_hint(TO_ANSWER)

    def on_focus(self) -> None:
        self._show_hint(self._answering)

    def on_blur(self) -> None:
        self._show_hint(TO_ANSWER)

    def _show_hint(self, hint: str) -> None:
        self.update(self._body + Text("\n" + hint, style="dim" if hint is TO_ANSWER else "bold"))


class IdentityScreen(ModalScreen[bool]):
    """Answers True to trust the key, False to refuse it.

    The dialog opens by itself, maybe while you type: nothing in it has the focus until you
    Tab or click into it, and every key you type meanwhile (Enter, ctrl+a and the other
    editing keys included) goes on into the message box, so no keystroke is lost and none
    answers the question by accident. Answering is deliberate: focus the question, then a key
    it shows.
    """

    AUTO_FOCUS = ""
    BINDINGS = [Binding("escape", "deny", "Deny", show=False)]

    def __init__(self, prompt: IdentityPrompt, keymap: dict[str, str] | None = None) -> None:
        classes = "identity-changed" if prompt.kind == "changed" else "identity-unknown"
        super().__init__(classes=classes)
        self.prompt = prompt
        self._keymap = keymap or {}  # binding id -> keys, as the user remapped them

    def compose(self) -> ComposeResult:
        peer = self.prompt.peer
        name = clean(peer.nickname, single_line=True)
        address = clean(peer.address, single_line=True)
        # The dialog is 72 columns (or the terminal's width): its border and padding take 6.
        text_width = min(72, self.app.size.width) - 6
        fingerprint = fold_groups(group_fingerprint(clean(peer.fingerprint, single_line=True)), text_width)
        if self.prompt.kind == "changed":
            expected = fold_groups(
                group_fingerprint(clean(self.prompt.expected_fingerprint, single_line=True)), text_width)
            body = Text()
            body.append(f"{name} at {address} presents a DIFFERENT key than last time.\n\n")
            body.append("Someone may be intercepting this connection, or your peer\n")
            body.append("reinstalled p2pchat. Check with them by another channel.\n\n")
            body.append("Key on record:\n  ")
            body.append(expected, style="bold")
            body.append("\nKey presented now:\n  ")
            body.append(fingerprint, style="bold")
            body.append(f"\n\nTo trust the new key, type '{CHANGED_KEY_WORD}' below and press Accept.")
            with Vertical(classes="dialog warning-dialog"):
                yield Static("WARNING: THE PEER'S IDENTITY CHANGED", classes="dialog-title")
                yield Static(body, id="identity-body")
                yield Input(
                    placeholder=f"type {CHANGED_KEY_WORD} to trust the new key", id="identity-confirm"
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
            with Vertical(classes="dialog"):
                yield Static("New peer", classes="dialog-title")
                yield Question(body, self._answering_hint(), id="identity-body")
                with Horizontal(classes="dialog-buttons"):
                    # For the mouse only: Tab and Enter typed for the message box must not
                    # land on a button and answer.
                    yield _mouse_only(Button("Allow (A)", id="identity-accept", variant="success"))
                    yield _mouse_only(Button("Deny (D)", id="identity-deny", variant="error"))

    def _answering_hint(self) -> str:
        def shown(binding_id: str, default: str) -> str:
            keys = [key.strip() for key in self._keymap.get(binding_id, default).split(",")]
            return " or ".join(KEY_NAMES.get(key, key.upper() if len(key) == 1 else key) for key in keys)

        return ANSWERING.format(allow=shown("identity.allow", "a"), deny=shown("identity.deny", "d,escape"))

    def on_resize(self, event: events.Resize) -> None:
        # Below 24 rows the question would cover the message box it says typing goes on in.
        self.set_class(event.size.height < SHORT_TERMINAL, "short-terminal")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "input_cursor_blink", True)

    async def on_key(self, event: events.Key) -> None:
        stack = self.app.screen_stack
        below = stack[stack.index(self) - 1] if stack.index(self) > 0 else None
        typing_into = typing_target(self)  # the input, or the draft
        if event.key in FOCUS_KEYS and (self.focused is None or isinstance(self.focused, Question)):
            # Moved now, not once the key has bubbled up to a binding: the keys that came in
            # the same burst (A right behind Tab) belong where Tab leads.
            event.stop()
            event.prevent_default()
            if self.focused is None:
                self.focus_next() if event.key == "tab" else self.focus_previous()
            else:
                self.action_back_to_typing()
            return
        if isinstance(self.focused, Question) and event.is_printable and not self._answers(event.key):
            self.set_focus(None)  # a letter that answers nothing: typing goes on, nothing lost
        if self.focused is not None or typing_into is None or below is None:
            return
        if event.key == "backspace":  # queued like the keys, so it stays in their order
            typing_into.call_later(self.app.run_action, "delete_left", typing_into)
        elif event.is_printable or event.key in TYPING_KEYS:
            typing_into.post_message(events.Key(event.key, event.character))
        elif (bound := _binding_below(below, typing_into, event.key)) is not None:
            node, action = bound  # ctrl+a, the arrows...: what the key does in the message box
            typing_into.call_later(self.app.run_action, action, node)
        else:
            return  # the app's keys (F1, ctrl+q...) still work
        event.stop()
        event.prevent_default()

    def on_input_changed(self, event: Input.Changed) -> None:
        ready = event.value.strip().lower() == CHANGED_KEY_WORD
        self.query_one("#identity-accept", Button).disabled = not ready

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip().lower() == CHANGED_KEY_WORD:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "identity-accept")

    def _answers(self, key: str) -> bool:
        """Whether `key` is bound on the focused question (as remapped)."""
        chain = self._binding_chain
        return bool(chain) and key in chain[0][1].key_to_bindings

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys answer only a question that has the focus: never one typed into by accident.
        if action in ("allow", "deny"):
            return self.focused is not None
        return True

    def action_deny(self) -> None:
        self.dismiss(False)

    def action_allow(self) -> None:
        # A changed key is only accepted by typing the confirmation word, never by one key.
        if self.prompt.kind != "changed":
            self.dismiss(True)

    def action_back_to_typing(self) -> None:
        self.set_focus(None)


def _mouse_only(button: Button) -> Button:
    button.can_focus = False
    return button


def _binding_below(screen: Screen, typing_into: Widget, key: str) -> tuple[DOMNode, str] | None:
    """The action `key` runs in the widget being typed into (or its containers), if any."""
    for node, bindings in screen._binding_chain:
        if isinstance(node, (Screen, App)):
            break
        for binding in bindings.key_to_bindings.get(key, ()):
            return node, binding.action
    return None
