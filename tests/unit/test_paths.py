"""P2PCHAT_HOME puts every file the app touches under one folder."""

from __future__ import annotations

import dataclasses

from p2pchat.config import default_config_path, set_value, write_default_config
from p2pchat.log import setup_logging
from p2pchat.paths import HOME_ENV, Paths, get_paths
from p2pchat.settings import Settings


def every_path(paths: Paths):
    yield from (getattr(paths, field.name) for field in dataclasses.fields(paths))
    for name, member in vars(Paths).items():
        if isinstance(member, property):
            yield getattr(paths, name)


def test_home_holds_every_path(p2pchat_home):
    paths = get_paths()
    found = list(every_path(paths))
    assert len(found) >= 9
    for path in found:
        assert path.is_relative_to(p2pchat_home), path
    assert len(set(found)) == len(found)  # no two uses share a path


def test_without_home_the_platform_folders_are_used(p2pchat_home, monkeypatch):
    monkeypatch.delenv(HOME_ENV)
    for path in every_path(get_paths()):
        assert not path.is_relative_to(p2pchat_home)


def test_settings_and_logs_are_written_under_home(p2pchat_home):
    write_default_config(default_config_path())
    set_value(default_config_path(), "port", "9001")
    log_file = setup_logging(Settings(), get_paths())
    written = [path for path in p2pchat_home.rglob("*") if path.is_file()]
    assert default_config_path() in written and log_file in written
    assert all(path.is_relative_to(p2pchat_home) for path in written)
