"""The full-screen app's connect screen on a real LAN (run inside a lab machine): wait until the
LAN list shows someone, press Enter on the first, and report whom the session connected to.

    P2PCHAT_HOME=DIR python connect_screen_probe.py
Prints two JSON lines: {"listed": [...]} and {"connected": NICK, "fingerprint": FP}.
"""

from __future__ import annotations

import asyncio
import json

from textual.widgets import OptionList

from p2pchat.settings import Settings
from p2pchat.ui.app import ChatApp

WAIT_STEPS = 300  # of 0.1 s


async def main() -> None:
    settings = Settings(nickname="bob", port=7001, port_mapping=False, discoverable=True, stun="",
                        accept_unknown="always", theme="textual-dark", relay="", rendezvous="")
    app = ChatApp(settings, show_connect_screen=True, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        listing = None
        for _ in range(WAIT_STEPS):
            await pilot.pause(0.1)
            found = app.screen.query("#connect-lan")
            if found and found.first(OptionList).option_count:
                listing = found.first(OptionList)
                break
        listed = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)] if listing else []
        print(json.dumps({"listed": listed}), flush=True)
        if listing is None:
            return
        listing.focus()
        listing.highlighted = 0
        await pilot.press("enter")
        peer = None
        for _ in range(WAIT_STEPS):
            await pilot.pause(0.1)
            peer = app.session.peer if app.session is not None else None
            if peer is not None:
                break
        print(json.dumps({"connected": peer.nickname if peer else None,
                          "fingerprint": peer.fingerprint if peer else None}), flush=True)
        if app.session is not None:
            await app.session.quit()


if __name__ == "__main__":
    asyncio.run(main())
