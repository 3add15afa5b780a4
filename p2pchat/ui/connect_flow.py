"""The app's start when nothing said whom to call: the connect screen, the LAN list on it
(when discoverable), and the settings it gives before the session starts.

A mixin of `ChatApp`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from p2pchat.paths import get_paths
from p2pchat.session.events import LanPeer
from p2pchat.ui.screens.connect import ConnectChoice, ConnectScreen
from p2pchat.ui.share import own_address, stored_fingerprint

# Makes the connect screen's LAN watcher: given a callback for the peer list, an object with
# start() and async close().
LanFactory = Callable[[Callable[[list[LanPeer]], None]], Any]


def real_lan_factory(on_change: Callable[[list[LanPeer]], None]):
    # Imported here, once the connect screen is up: the first frame does not wait for them.
    from p2pchat.identity import IdentityError, KnownPeers
    from p2pchat.reach.lan import LanPeers

    try:
        known = KnownPeers.load(get_paths().known_peers_file)
    except IdentityError:
        known = None
    return LanPeers("", lambda fp: known is not None and known.get(fp) is not None, on_change)


class ConnectFlow:
    def _open_connect_screen(self, error: str = "") -> None:
        settings = self.settings
        screen = ConnectScreen(
            port=settings.port,
            peer=settings.connect,
            nickname=settings.nickname,
            address_for=self._address_for,
            error=error,
            show_lan=settings.discoverable,
        )
        self.push_screen(screen, self._connect_chosen)
        if settings.discoverable:
            # After the first frame: watching the LAN brings the identity and network modules.
            self.call_after_refresh(self._watch_lan, screen)

    def _watch_lan(self, screen: ConnectScreen) -> None:
        if self._lan_watch is None and self.screen is screen:  # not answered meanwhile
            self._lan_watch = self._lan_factory(lambda peers: self.call_later(screen.show_lan_peers, peers))
            self._lan_watch.start()

    def _stop_lan_watch(self) -> None:
        watch, self._lan_watch = self._lan_watch, None
        if watch is not None:
            self.run_worker(watch.close(), exit_on_error=False, group="lan-watch")

    def _stored_address(self, port: int) -> str:
        """Your address before the session starts: the key is read from the identity folder."""
        fingerprint = stored_fingerprint() if self.settings.tls else ""
        return own_address(port, fingerprint, tls=self.settings.tls, bind=self.settings.bind)

    def _connect_chosen(self, choice: ConnectChoice | None) -> None:
        self._stop_lan_watch()
        if choice is None:
            self.exit(0)
            return
        self.settings = replace(
            self.settings,
            port=choice.port,
            connect=choice.peer,
            nickname=choice.nickname,
            port_explicit=True,
        )
        self._status.nickname = choice.nickname
        self._begin()
