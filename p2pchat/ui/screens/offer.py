"""An incoming file offer: accept, save under another name, or decline. It says what the
offer holds (a batch's first files and a count of the rest) and whether it resumes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from p2pchat.display import listed_files, resume_note
from p2pchat.session.events import TransferInfo
from p2pchat.ui.text import clean, human_bytes


@dataclass(frozen=True)
class OfferAnswer:
    accept: bool
    save_as: Path | None = None


class OfferScreen(ModalScreen[OfferAnswer]):
    BINDINGS = [
        Binding("escape", "decline", "Decline", id="offer.decline"),
    ]

    def __init__(self, transfer: TransferInfo, peer_nickname: str, download_dir: Path) -> None:
        super().__init__(classes="offer-screen")
        self.transfer = transfer
        self._peer = peer_nickname
        self._download_dir = download_dir
        self.withdrawn = False  # the offer ended elsewhere: an answer from here is void

    def compose(self) -> ComposeResult:
        info = self.transfer
        several = info.file_count > 1 or bool(info.listing)
        question = Text(clean(self._peer or "The peer", single_line=True))
        question.append(" wants to send you\n\n")
        question.append(clean(info.name, single_line=True), style="bold")
        count = f"{info.file_count} files, " if info.file_count > 1 else ""
        question.append(f"  ({count}{human_bytes(info.size)})")
        if note := resume_note(info):
            question.append(f"\n{note} ({human_bytes(info.resumed_from)} already here)")
        if several:
            names, total = listed_files(info)
            question.append("\n")
            for name in names:
                question.append(f"\n  {name}")
            if total:
                question.append(f"\n  {total}", style="dim")
        question.append(f"\n\nEnter accepts into {self._download_dir}; Esc declines.", style="dim")
        with Vertical(classes="dialog"):
            yield Static(f"Incoming {'files' if several else 'file'} #{info.id}", classes="dialog-title")
            yield Static(question, classes="offer-question")
            yield Input(
                str(self._download_dir / Path(info.name).name), id="offer-path", classes="hidden"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Accept", id="offer-accept", variant="success")
                yield Button("Save as…", id="offer-save-as")
                yield Button("Decline", id="offer-decline", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "offer-accept":
            self.action_accept()
        elif event.button.id == "offer-decline":
            self.action_decline()
        else:
            path_input = self.query_one("#offer-path", Input)
            if path_input.has_class("hidden"):
                path_input.remove_class("hidden")
                path_input.focus()
            else:
                self._save_as()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._save_as()

    def on_mount(self) -> None:
        # The dialog opens only when asked for, so Enter may accept; no single letter does.
        self.query_one("#offer-accept").focus()

    def _save_as(self) -> None:
        value = self.query_one("#offer-path", Input).value.strip()
        if value:
            self.dismiss(OfferAnswer(True, Path(value).expanduser()))

    def action_accept(self) -> None:
        self.dismiss(OfferAnswer(True))

    def action_decline(self) -> None:
        self.dismiss(OfferAnswer(False))
