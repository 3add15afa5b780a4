"""The visible screen of a running app as plain text lines (for assertions and debugging)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))
