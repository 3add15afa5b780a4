"""The binding ids the settings check against are the app's own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from app_harness import Harness
from screen_text import screen_text
from textual.binding import Binding

import p2pchat.ui
from p2pchat.bindings import BINDING_IDS

SIZE = (100, 30)


def _ui_binding_ids() -> set[str]:
    ids = set()
    for module_info in pkgutil.walk_packages(p2pchat.ui.__path__, "p2pchat.ui."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for binding in getattr(cls, "BINDINGS", []):
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids


def test_the_known_binding_ids_are_exactly_the_apps():
    assert set(BINDING_IDS) == _ui_binding_ids()


async def test_the_app_warns_once_about_unknown_binding_ids_in_the_keymap(tmp_path):
    harness = Harness(tmp_path, settings={"keymap": {"app.nonexist": "ctrl+x", "app.help": "f2"}})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(harness.app)
        assert text.count("keymap has no binding 'app.nonexist'") == 1, text
        await pilot.press("f2")  # the known entry still applies
        assert type(harness.app.screen).__name__ == "HelpScreen"


async def test_help_lists_the_multi_line_and_question_keys_as_remapped(tmp_path):
    harness = Harness(tmp_path, settings={"keymap": {"identity.deny": "ctrl+d"}})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        keys = str(harness.app.screen.query_one("#help-keys").render())
        assert "ctrl+j / shift+enter" in keys and "New line (message box)" in keys
        assert "Allow (new peer question)" in keys
        assert "ctrl+d" in keys and "Deny (new peer question)" in keys  # the remapped key
        assert "Decline (file offer)" in keys
        assert "Close (/verify, quit and other questions)" in keys
        assert "Previous button (/verify, quit and other questions)" in keys
