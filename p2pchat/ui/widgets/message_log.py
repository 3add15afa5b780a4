"""The chat log: a line-API view that stays smooth with hundreds of thousands of entries.

Entries are kept as small records; wrapped lines are rendered only for what is on
screen and cached. A prefix sum of per-entry line counts maps a screen row to its
entry with a binary search, so appending and scrolling cost the same at 10 or 100,000
entries. Line counts are recomputed on a width change with a fast path for the usual
short single-line ASCII message.

Only the newest `scrollback` entries stay in memory (twice that while the user reads
scrolled up, so arrivals do not take away what is on screen), as weechat does. Chat
messages older than that are not lost: scrolling to the top pages them back in from
the history through `earlier`.
"""

from __future__ import annotations

import gc
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from p2pchat.ui.text import clean, wrap_at_dashes

FREEZE_EVERY = 10_000  # entries added between two gc.freeze() calls
# Entries kept in memory: a few screens and more. Older messages page back in from the
# history, so unlike a terminal's (xterm 1024, tmux 2000) or weechat's (4096) the limit
# loses nothing; each entry costs about 1 KB resident.
SCROLLBACK = 1000
PAGE = 200  # earlier messages fetched from the history each time the top is reached
# Delivery marks share one width so a state change never re-wraps a line.
MARKS = {"pending": "⋯ ", "sent": "✓ ", "delivered": "✓✓", "failed": "✗ "}


@dataclass(slots=True)
class Entry:
    kind: str  # own | peer | system | warning | error | separator
    body: str  # already cleaned
    timestamp: float | None = None
    sender: str = ""  # already cleaned
    action: bool = False
    state: str = ""  # delivery state of an outgoing message
    message_id: str = ""
    fast_width: int | None = None  # cell width when a single ASCII line, else None


# Earlier messages from the history: (message id, outgoing, include it, at most how many)
# -> entries oldest first; the id names the oldest message the log still holds.
EarlierEntries = Callable[[str, bool, bool, int], list[Entry]]


class MessageLog(ScrollView, can_focus=True):
    """Chat messages and system lines with timestamps, delivery marks and wrapping."""

    COMPONENT_CLASSES = {
        "message-log--timestamp",
        "message-log--own",
        "message-log--peer",
        "message-log--system",
        "message-log--warning",
        "message-log--error",
        "message-log--separator",
        "message-log--mark",
        "message-log--failed",
    }

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False, id="log.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="log.page_down"),
        Binding("home", "scroll_home", "Oldest", show=False),
        Binding("end", "scroll_end", "Newest", show=False),
    ]

    unseen: reactive[int] = reactive(0)
    """Messages appended while the view was scrolled up."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        scrollback: int = SCROLLBACK,
        earlier: EarlierEntries | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        self._entries: list[Entry] = []
        # Machine integers, not Python ints: 200,000 entries cost 3 MB here, not 11.
        self._counts = array("l")  # wrapped line count per entry
        self._starts = array("q")  # first line of each entry
        self._total = 0
        self._width = 0  # width the counts were computed for
        self._by_id: dict[str, int] = {}
        # Rendered lines cost ~7 KB an entry with Textual's caches on them: a few screens' worth.
        self._cache: LRUCache[tuple[int, int], list[Strip]] = LRUCache(256)
        self._follow = True  # stick to the newest line until the user scrolls up
        self._end_pending = False
        self._flush_pending = False
        self._pending_unseen = 0
        self._frozen_at = 0  # entry count at the last gc.freeze()
        self._scrollback = scrollback
        self._earlier = earlier
        self._dropped: tuple[str, bool] | None = None  # the newest message dropped, if any
        self._history_done = False  # the history has nothing older than the log's oldest message
        self._paging = False

    # -- public API ---------------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        return self._entries

    @property
    def line_count(self) -> int:
        return self._total

    def add_message(self, sender: str, body: str, **details) -> None:
        """Append one message; `details` are message_entry's keywords."""
        self.extend([self.message_entry(sender, body, **details)])

    def message_entry(
        self,
        sender: str,
        body: str,
        *,
        outgoing: bool,
        timestamp: float | None = None,
        action: bool = False,
        state: str = "",
        message_id: str = "",
    ) -> Entry:
        return Entry(
            "own" if outgoing else "peer",
            clean(body),
            self._clock() if timestamp is None else timestamp,
            clean(sender, single_line=True),
            action,
            state if outgoing else "",
            message_id,
        )

    def add_history(self, entries: list[Entry], label: str) -> None:
        """Earlier messages go above everything shown in this run, then a separator."""
        current = self._entries
        self._entries = []
        self._by_id.clear()
        self._cache.clear()
        self._counts = array("l")
        self._starts = array("q")
        self._total = 0
        self.extend([*entries, Entry("separator", clean(label, single_line=True)), *current])

    def add_system(self, text: str, level: str = "system", timestamp: float | None = None) -> None:
        kind = level if level in ("warning", "error") else "system"
        self.extend([Entry(kind, clean(text), self._clock() if timestamp is None else timestamp)])

    def add_separator(self, label: str) -> None:
        self.extend([Entry("separator", clean(label, single_line=True))])

    def extend(self, entries: Iterable[Entry]) -> None:
        width = self._width or self._wrap_width()
        if width != self._width:
            self._relayout(width)
        added = 0
        for entry in entries:
            entry.fast_width = self._fast_width(entry)
            index = len(self._entries)
            self._entries.append(entry)
            if entry.message_id and entry.kind == "own":
                self._by_id[entry.message_id] = index
            count = self._count_lines(index, width)
            self._counts.append(count)
            self._starts.append(self._total)
            self._total += count
            added += 1
        if not self._follow:
            self._pending_unseen += added
        if added and not self._flush_pending:
            # Widget bookkeeping (size, repaint, counters) is done once for a burst.
            self._flush_pending = True
            self.call_later(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self._trim()
        if len(self._entries) >= self._frozen_at + FREEZE_EVERY:
            # Entries live until /clear and hold no cycles, yet every full garbage
            # collection walks them all: 200,000 of them made a keystroke wait 100-200 ms.
            # Frozen, the collector skips them (they are still freed when dropped).
            gc.freeze()
            self._frozen_at = len(self._entries)
        self.virtual_size = Size(self._width, self._total)
        if self._pending_unseen:
            self.unseen += self._pending_unseen
            self._pending_unseen = 0
        self._frozen_at = 0  # entry count at the last gc.freeze()
        if self._follow:
            self._scroll_to_end_soon()
        self.refresh()

    # -- the scrollback limit --------------------------------------------------------
    def _trim(self) -> None:
        """Drop the oldest entries past the limit, keeping the view on what it shows."""
        if self._follow:
            drop = len(self._entries) - self._scrollback
            if drop <= self._scrollback // 8:  # a little slack: trimming is a copy
                return
        else:
            # Reading scrolled up: twice the limit, and nothing on screen or just above
            # it goes while under four times the limit.
            drop = len(self._entries) - 2 * self._scrollback
            if drop <= self._scrollback // 8:
                return
            above = bisect_right(self._starts, max(0, self.scroll_y - self.size.height)) - 1
            drop = max(min(drop, above), len(self._entries) - 4 * self._scrollback)
            if drop <= 0:
                return
        for entry in reversed(self._entries[:drop]):
            if entry.message_id:
                self._dropped = (entry.message_id, entry.kind == "own")
                self._history_done = False
                break
        self._keep_view(self._reshape(drop=drop))

    def _reshape(self, *, drop: int = 0, above: list[Entry] | None = None) -> int:
        """Drop the oldest `drop` entries and put `above` over the rest; returns how many
        lines were added above the entries kept (negative when more went)."""
        width = self._width or self._wrap_width()
        above = above or []
        dropped_lines = self._starts[drop] if drop < len(self._starts) else self._total
        for entry in above:
            entry.fast_width = self._fast_width(entry)
        self._entries = [*above, *self._entries[drop:]]
        self._cache.clear()
        counts = array("l", (self._count_lines(index, width) for index in range(len(above))))
        counts.extend(self._counts[drop:])
        self._counts = counts
        self._starts = array("q", accumulate(counts, initial=0))
        self._total = self._starts.pop()
        self._by_id = {e.message_id: i for i, e in enumerate(self._entries) if e.message_id and e.kind == "own"}
        self._width = width
        self.virtual_size = Size(width, self._total)
        self.refresh()
        return sum(counts[: len(above)]) - dropped_lines

    def _keep_view(self, lines_added_above: int) -> None:
        if not self._follow and lines_added_above:
            self.scroll_to(y=max(0, self.scroll_y + lines_added_above), animate=False, immediate=True)

    def _oldest_message(self) -> tuple[str, bool, bool] | None:
        """(id, outgoing, include it) of what the next page from the history ends at."""
        for entry in self._entries:
            if entry.message_id:
                return entry.message_id, entry.kind == "own", False
        return (*self._dropped, True) if self._dropped else None

    def _page_in_soon(self) -> None:
        if self._earlier is not None and not self._history_done and not self._paging:
            self._paging = True
            self.call_later(self._page_in)

    def _page_in(self) -> None:
        """Earlier messages from the history go above the oldest line, the view staying still."""
        self._paging = False
        anchor = self._oldest_message()
        entries = self._earlier(*anchor, PAGE) if anchor and self._earlier else []
        self._history_done = len(entries) < PAGE
        if entries:
            self._keep_view(self._reshape(above=entries))

    def _scroll_to_end_soon(self) -> None:
        # Scrolling waits for the next layout: only then does the view know it has a
        # scrollbar. One pending request serves any number of appends.
        if not self._end_pending:
            self._end_pending = True
            self.call_after_refresh(self._scroll_to_end_now)

    def _scroll_to_end_now(self) -> None:
        self._end_pending = False
        if self._follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def set_state(self, message_id: str, state: str) -> bool:
        """Update an outgoing message's delivery mark; False if the id is unknown."""
        index = self._by_id.get(message_id)
        if index is None:
            return False
        entry = self._entries[index]
        if entry.state == state or (entry.state == "delivered" and state == "sent"):
            return True
        entry.state = state
        self._cache.discard((index, self._width))
        self.refresh()
        return True

    def clear(self) -> None:
        self._entries.clear()
        self._counts = array("l")
        self._starts = array("q")
        self._by_id.clear()
        self._cache.clear()
        self._total = 0
        self._dropped, self._history_done = None, True  # what was cleared stays away
        self.unseen = 0
        self._follow = True
        self.virtual_size = Size(self._wrap_width(), 0)
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def rendered_lines(self) -> list[str]:
        """Plain text of every wrapped line (for tests and copying)."""
        width = self._wrap_width()
        return [
            strip.text
            for index in range(len(self._entries))
            for strip in self._strips(index, width)
        ]

    # -- scrolling ------------------------------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._follow = new_value >= self.max_scroll_y
        if self._follow:
            self.unseen = 0
        elif new_value <= 0:
            self._page_in_soon()

    @property
    def following(self) -> bool:
        return self._follow

    def action_page_up(self) -> None:
        self._page_in_at_top()
        self.scroll_page_up(animate=False)

    def _page_in_at_top(self) -> None:
        # At the top already, scrolling changes nothing: ask for earlier lines here.
        if self.scroll_y <= 0 < self.max_scroll_y:
            self._page_in_soon()

    def on_mouse_scroll_up(self) -> None:
        self._page_in_at_top()

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_home(self) -> None:
        self._page_in_at_top()
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.follow()

    def follow(self) -> None:
        """Jump to the newest line and stay there as lines arrive."""
        self._follow = True
        self.unseen = 0
        self._pending_unseen = 0
        self._frozen_at = 0  # entry count at the last gc.freeze()
        self._scroll_to_end_soon()

    # -- layout ---------------------------------------------------------------------
    def _wrap_width(self) -> int:
        width = self.scrollable_content_region.width if self.is_mounted else 0
        return max(width, 20)

    def on_resize(self) -> None:
        width = self._wrap_width()
        if width != self._width:
            self._relayout(width)
        elif self._follow:  # shorter (the transfers panel opened): the newest line stays in view
            self._scroll_to_end_soon()

    def _relayout(self, width: int) -> None:
        self._width = width
        self._cache.clear()
        self._counts = array("l", (self._count_lines(i, width) for i in range(len(self._entries))))
        self._starts = array("q", accumulate(self._counts, initial=0))
        self._total = self._starts.pop() if self._starts else 0
        self.virtual_size = Size(width, self._total)
        if self._follow:
            self._scroll_to_end_soon()
        self.refresh()

    def _fast_width(self, entry: Entry) -> int | None:
        if "\n" in entry.body or not (entry.body.isascii() and entry.sender.isascii()):
            return None
        stamp = 6 if entry.timestamp else 0  # "HH:MM "
        if entry.kind in ("own", "peer"):
            # mark (2) + " * name " or " name: "
            return stamp + 2 + len(entry.sender) + 3 + len(entry.body)
        return stamp + 3 + len(entry.body)  # "-- "

    def _count_lines(self, index: int, width: int) -> int:
        fast = self._entries[index].fast_width
        if fast is not None and fast <= width:
            return 1
        return len(self._strips(index, width))

    # -- rendering ------------------------------------------------------------------
    def _parts(self, entry: Entry) -> tuple[Text, Text]:
        """The head (time, mark, sender) and the body, styled; the body wraps under itself."""
        style = self.get_component_rich_style
        stamp = time.strftime("%H:%M ", time.localtime(entry.timestamp)) if entry.timestamp else ""
        head = Text(stamp, style("message-log--timestamp"))
        if entry.kind in ("own", "peer"):
            colour = style(f"message-log--{entry.kind}")
            if entry.kind == "own":
                mark_style = (
                    "message-log--failed" if entry.state == "failed" else "message-log--mark"
                )
                head.append(MARKS.get(entry.state, "  "), style(mark_style))
            else:
                head.append("  ")
            if entry.action:
                head.append(f" * {entry.sender} ", colour)
            else:
                head.append(f" {entry.sender}: ", colour + Style(bold=True))
            return head, Text(entry.body, colour, overflow="fold")
        kind_style = style(f"message-log--{entry.kind}")
        head.append("-- ", kind_style)
        return head, Text(entry.body, kind_style, overflow="fold")

    def _separator(self, entry: Entry) -> Text:
        label = f" {entry.body} "
        side = max(2, (self._width - len(label)) // 2)
        return Text(
            "─" * side + label + "─" * side,
            style=self.get_component_rich_style("message-log--separator"),
            no_wrap=True,
            overflow="crop",
        )

    def _wrap(self, entry: Entry, width: int) -> list[Text]:
        console = self.app.console
        if entry.kind == "separator":
            return list(self._separator(entry).wrap(console, width))
        head, body = self._parts(entry)
        if entry.fast_width is not None and entry.fast_width <= width:
            return [Text.assemble(head, body)]  # the usual short line: nothing to wrap
        # Continuation lines start under the text, as weechat does, while that leaves the
        # body at least half the width; a narrower log wraps at the left edge instead.
        indent = head.cell_len if head.cell_len <= width // 2 else 0
        if not indent:
            return list(Text.assemble(head, body, overflow="fold").wrap(console, width))
        lines = wrap_at_dashes(body, width - indent) or body.wrap(console, width - indent) or [Text()]
        pad = Text(" " * indent)
        return [Text.assemble(head if n == 0 else pad, line) for n, line in enumerate(lines)]

    def _strips(self, index: int, width: int) -> list[Strip]:
        key = (index, width)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        console = self.app.console
        lines = self._wrap(self._entries[index], width)
        strips = [Strip(line.render(console), line.cell_len) for line in lines] or [Strip.blank(0)]
        self._cache[key] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        line_no = scroll_y + y
        base = self.rich_style
        if line_no >= self._total or not self._entries:
            return Strip.blank(width, base)
        index = bisect_right(self._starts, line_no) - 1
        strips = self._strips(index, self._width or self._wrap_width())
        offset = min(line_no - self._starts[index], len(strips) - 1)
        # No `apply_offsets`: the log offers no text selection, and each (style, line number)
        # it would make is a new style that Textual keeps in a cache of 16,384 (about 0.5 KB
        # each): a long chat filled it, several MB that never came back.
        return strips[offset].apply_style(base).crop_extend(scroll_x, scroll_x + width, base)
