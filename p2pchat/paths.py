"""Every directory the app uses, in one place.

`P2PCHAT_HOME=DIR` puts all of them under DIR (tests rely on it); otherwise the
platform's conventional locations come from platformdirs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "p2pchat"
HOME_ENV = "P2PCHAT_HOME"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    downloads_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def identity_dir(self) -> Path:
        return self.data_dir / "identity"

    @property
    def known_peers_file(self) -> Path:
        return self.data_dir / "known_peers.toml"

    @property
    def invites_file(self) -> Path:
        return self.data_dir / "invites.json"

    @property
    def running_file(self) -> Path:
        """The process id and port of the p2pchat running now (see running.py)."""
        return self.data_dir / "running.json"

    @property
    def unfinished_file(self) -> Path:
        """The call and the sends a run had under way (see session/unfinished.py)."""
        return self.data_dir / "unfinished.json"

    @property
    def history_file(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def pastes_dir(self) -> Path:
        """Messages too long for one message, saved to be sent as files."""
        return self.data_dir / "pastes"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "p2pchat.log"


def get_paths() -> Paths:
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "logs", root / "downloads")
    return Paths(
        config_dir=Path(platformdirs.user_config_dir(APP, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP, appauthor=False)),
        downloads_dir=Path(platformdirs.user_downloads_dir()),
    )
