"""The ids of the app's key bindings, known below the front end so a keymap can be checked
where settings are read (the app's own bindings are tested to match this list)."""

from __future__ import annotations

import difflib

BINDING_IDS = (
    "app.quit", "app.help", "app.clear", "app.send_file", "app.answer_offer", "app.copy_address",
    "app.page_up", "app.page_down",
    "input.history_previous", "input.history_next", "input.complete", "input.new_line", "input.end",
    "log.page_up", "log.page_down",
    "connect.quit", "connect.complete_code",
    "identity.allow", "identity.deny",
    "offer.decline", "confirm.no", "help.close",
)  # fmt: skip


def unknown_binding_ids(keymap: dict[str, str]) -> list[str]:
    return [binding for binding in keymap if binding not in BINDING_IDS]


def describe_unknown(bindings: list[str], *, list_known: bool = True) -> str:
    """"has no binding 'app.qiut' (did you mean app.quit?)", to follow the word "keymap".
    Without a close match the known ids are listed, or (`list_known=False`, for a narrow
    screen) where to find them."""
    first = bindings[0]
    known = f"known ids: {', '.join(BINDING_IDS)}" if list_known else "the ids are listed in FEATURES.md"
    if first.startswith(("{", '"', "'", "[")):
        return (f"entry {first!r} is not binding-id=keys: write app.quit=ctrl+x, pairs separated"
                " by commas (the { } table form is for the settings file)")
    if len(bindings) > 1:
        named = ", ".join(repr(binding) for binding in bindings)
        return f"has no bindings {named} ({known})"
    close = difflib.get_close_matches(first, BINDING_IDS, n=1, cutoff=0.8)
    hint = f"did you mean {close[0]}?" if close else known
    return f"has no binding {first!r} ({hint})"


def check_binding_ids(keymap: dict[str, str]) -> dict[str, str]:
    """The keymap, or ValueError naming its unknown binding ids."""
    unknown = unknown_binding_ids(keymap)
    if unknown:
        raise ValueError(describe_unknown(unknown))
    return keymap
