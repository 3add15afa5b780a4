"""The real magic-wormhole library as the other side of a meeting, run as a script.

    python wormhole_peer.py URL APPID (allocate | CODE) MESSAGE

Prints `code CODE` once the code is known, sends MESSAGE as its first message, then prints
`got HEX` for the first message it receives, or `error KIND: TEXT`, and exits.
"""

from __future__ import annotations

import sys

import wormhole
from twisted.internet import defer, task


@defer.inlineCallbacks
def main(reactor, url: str, appid: str, code: str, message: str):
    w = wormhole.create(appid, url, reactor)
    if code == "allocate":
        w.allocate_code()
    else:
        w.set_code(code)
    code = yield w.get_code()
    print("code", code, flush=True)
    w.send_message(message.encode("utf-8"))
    try:
        got = yield w.get_message()
        print("got", got.hex(), flush=True)
    except Exception as error:  # noqa: BLE001 - the test reads what went wrong
        print("error", f"{type(error).__name__}: {error}", flush=True)
    try:
        yield w.close()
    except Exception as error:  # noqa: BLE001
        print("closed", type(error).__name__, flush=True)


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
