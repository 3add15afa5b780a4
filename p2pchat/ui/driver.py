"""The terminal driver: Textual's, made safe against a stop it did not cause.

Textual's LinuxDriver (8.2.8) resumes application mode on *every* SIGCONT, but suspends it
only on SIGTSTP (ctrl+z). A SIGSTOP from elsewhere (`kill -STOP`, a debugger, a shell's
job control) is followed by a SIGCONT that starts a second input thread and a second
output thread beside the running ones; each further stop adds another pair. The input
threads race on one blocking read of the terminal, and on quit `disable_input()` sets the
exit event, joins only the newest input thread and clears the event again, so the older
non-daemon ones never see it (or sit in `os.read`) and the process never exits.

Upstream report, ready to file (Textualize/textual, textual/drivers/linux_driver.py):
  `LinuxDriver._sigcont_application` calls `resume_application_mode()` whenever
  `_auto_restart` is set, without checking that `_sigtstp_application` suspended it first.
  Reproduce: run any app in a terminal, `kill -STOP <pid>`, `kill -CONT <pid>`, press the
  quit key: the app freezes in `disable_input()` (`self._key_thread.join()`), with two
  `textual-input` and two `textual-output` threads alive. Fix: resume only after a suspend
  (e.g. set a flag in `_sigtstp_application` and test it in `_sigcont_application`); on a
  bare SIGCONT, at most repaint.
"""

from __future__ import annotations

import asyncio
import termios

from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size

from p2pchat.ui.key_delivery import BatchedKeyDelivery


class ContinuableLinuxDriver(BatchedKeyDelivery, LinuxDriver):
    """Resumes application mode only after its own suspend; after any other stop it puts the
    terminal back the way the app set it (a shell that took the terminal meanwhile left it in
    line mode, where keys never reach the app and ctrl+q is swallowed as XON) and repaints."""

    _suspended_by_signal = False
    _loop: asyncio.AbstractEventLoop | None = None
    _app_mode_attrs: list | None = None

    def start_application_mode(self) -> None:
        self._loop = asyncio.get_running_loop()
        super().start_application_mode()
        try:
            self._app_mode_attrs = termios.tcgetattr(self.fileno)
        except termios.error:
            self._app_mode_attrs = None

    def _sigtstp_application(self, *args) -> None:
        self._suspended_by_signal = self._auto_restart
        super()._sigtstp_application(*args)

    def _sigcont_application(self, *args) -> None:
        if self._suspended_by_signal:
            self._suspended_by_signal = False
            super()._sigcont_application(*args)
        elif self._loop is not None and self._writer_thread is not None:
            self._loop.call_soon_threadsafe(self._restore_application_mode)

    def _restore_application_mode(self) -> None:
        if self._app_mode_attrs is not None:
            try:
                termios.tcsetattr(self.fileno, termios.TCSANOW, self._app_mode_attrs)
            except termios.error:
                pass
        self.write("\x1b[?1049h\x1b[?25l\x1b[?1004h")  # alt screen, no cursor, focus events
        self._enable_mouse_support()
        self._enable_bracketed_paste()
        self.flush()
        width, height = self._get_terminal_size()
        size = Size(width, height)
        self._app.post_message(events.Resize(size, size))  # redraw what the shell wrote over
