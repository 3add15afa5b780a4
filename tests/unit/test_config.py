"""Settings: four layers merged in order, clear one-line errors, a commented file that survives edits."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from p2pchat.config import (
    KEYS,
    ConfigError,
    default_config_path,
    default_config_text,
    format_size,
    get_value,
    load_settings,
    parse_size,
    set_value,
    write_default_config,
)
from p2pchat.settings import Settings


@pytest.fixture(autouse=True)
def built_in_defaults(monkeypatch):
    """These tests read settings without starting anything: no need for the suite-wide
    environment that keeps sessions off routers and the LAN."""
    monkeypatch.delenv("P2PCHAT_PORT_MAPPING")
    monkeypatch.delenv("P2PCHAT_DISCOVERABLE")
    monkeypatch.delenv("P2PCHAT_RENDEZVOUS")
    monkeypatch.delenv("P2PCHAT_RELAY")
    monkeypatch.delenv("P2PCHAT_STUN")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_every_value_is_the_default():
    settings, sources = load_settings({})
    assert settings == Settings()
    assert set(sources.values()) == {"default"}


def test_each_layer_overrides_the_one_below(monkeypatch):
    config = write(
        default_config_path(),
        'port = 1000\nnickname = "file-nick"\ntheme = "nord"\nbell = false\n',
    )
    monkeypatch.setenv("P2PCHAT_PORT", "2000")
    monkeypatch.setenv("P2PCHAT_NICKNAME", "env-nick")
    monkeypatch.setenv("P2PCHAT_BELL", "yes")

    settings, sources = load_settings({"port": 3000, "port_explicit": True})

    assert settings.port == 3000 and sources["port"] == "command line"
    assert settings.port_explicit is True
    assert settings.nickname == "env-nick" and sources["nickname"] == "env P2PCHAT_NICKNAME"
    assert settings.bell is True and sources["bell"] == "env P2PCHAT_BELL"
    assert settings.theme == "nord" and sources["theme"] == f"file {config}"
    assert settings.bind == "::" and sources["bind"] == "default"


def test_an_explicit_settings_file_replaces_the_default_one(tmp_path):
    write(default_config_path(), "port = 1000\n")
    other = write(tmp_path / "other.toml", "port = 1001\n")
    settings, sources = load_settings({}, other)
    assert settings.port == 1001
    assert sources["port"] == f"file {other}"


def test_environment_values_are_parsed_by_type(monkeypatch):
    monkeypatch.setenv("P2PCHAT_HEARTBEAT_INTERVAL", "1.5")
    monkeypatch.setenv("P2PCHAT_HEARTBEAT_TIMEOUT", "3")
    monkeypatch.setenv("P2PCHAT_TLS", "off")
    monkeypatch.setenv("P2PCHAT_MAX_FILE_SIZE", "4 GB")
    monkeypatch.setenv("P2PCHAT_DOWNLOAD_DIR", "~/incoming")
    monkeypatch.setenv("P2PCHAT_LOG_LEVEL", "debug")
    settings, _ = load_settings({})
    assert settings.heartbeat_timeout == 3.0
    assert settings.tls is False
    assert settings.max_file_size == 4_000_000_000
    assert settings.download_dir == Path("~/incoming").expanduser()
    assert settings.log_level == "DEBUG"


def test_command_line_text_is_checked_like_any_other_layer():
    settings, _ = load_settings({"download_dir": "/tmp/x", "log_level": "warning"})
    assert settings.download_dir == Path("/tmp/x")
    assert settings.log_level == "WARNING"
    with pytest.raises(ConfigError, match="command line: nickname"):
        load_settings({"nickname": "x" * 40})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("port = \"abc\"\n", 'line 1: port must be a whole number, not the string \'abc\''),
        ("# c\n\ntls = 1\n", "line 3: tls must be true or false, not the number 1"),
        ("accept_unknown = \"maybe\"\n", "line 1: accept_unknown must be one of ask, always, never"),
        ("\nmax_file_size = \"lots\"\n", "line 2: max_file_size 'lots' is not a size"),
        ("port = 70000\n", "line 1: port 70000 is out of range"),
        ("heartbeat_interval = 0\n", "line 1: heartbeat_interval must be a number of seconds above 0"),
        ("bell = true\ncolour = 1\n", "line 2: unknown settings key 'colour'"),
        ("port = 1\n[extra]\n", "line 2: unknown settings key 'extra'"),
        ("port = \n", "line 1 column 7: not valid TOML"),
    ],
)
def test_a_bad_file_names_the_key_file_and_line(text, expected):
    path = write(default_config_path(), text)
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    message = str(caught.value)
    assert message.startswith(f"{path}, ")
    assert expected in message
    assert "\n" not in message


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("P2PCHAT_PORT", "eighty")
    with pytest.raises(ConfigError, match="environment variable P2PCHAT_PORT: port must be a whole"):
        load_settings({})


def test_unrelated_environment_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("P2PCHAT_SOMETHING_ELSE", "1")
    settings, _ = load_settings({})
    assert settings == Settings()


def test_a_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, tmp_path / "nope.toml")


def test_an_unreadable_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="it is a directory"):
        load_settings({}, tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00port")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings({}, binary)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("4 GB", 4 * 1000**3), ("4gb", 4 * 1000**3), ("16 GiB", 16 * 1024**3),
     ("1.5 MiB", 1536 * 1024), ("512 kB", 512_000), ("7 B", 7)],
)  # fmt: skip
def test_sizes_accept_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-4 GB", "4 XB", "GB", "four GB"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_sizes_are_shown_in_their_exact_unit():
    assert format_size(16 * 1024**3) == "16 GiB"
    assert format_size(4 * 1000**3) == "4 GB"
    assert format_size(1500) == "1.5 KiB"
    assert format_size(12) == "12 B"


def test_the_default_file_explains_every_key_and_changes_nothing(tmp_path):
    path = write_default_config(tmp_path / "config.toml")
    text = path.read_text()
    for key in KEYS:
        assert f"\n# {key} = " in text
    assert tomlkit.parse(text).unwrap() == {}  # everything commented out
    settings, _ = load_settings({}, path)
    assert settings == Settings()


def test_the_default_file_is_not_overwritten_without_force(tmp_path):
    path = write(tmp_path / "config.toml", "# mine\nport = 1234\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        write_default_config(path)
    assert path.read_bytes() == before
    write_default_config(path, force=True)
    assert path.read_text() == default_config_text()


def test_set_keeps_comments_and_layout(tmp_path):
    original = (
        "# my settings, do not lose this\n"
        "\n"
        "port = 1234   # the office firewall allows this one\n"
        "# nickname = \"bob\"\n"
        "theme = \"nord\"\n"
    )
    path = write(tmp_path / "config.toml", original)

    set_value(path, "port", "4321")
    set_value(path, "nickname", "alice")

    assert path.read_text() == (
        "# my settings, do not lose this\n"
        "\n"
        "port = 4321   # the office firewall allows this one\n"
        "nickname = \"alice\"\n"
        "theme = \"nord\"\n"
    )
    settings, _ = load_settings({}, path)
    assert (settings.port, settings.nickname, settings.theme) == (4321, "alice", "nord")


def test_set_on_the_default_file_uncomments_the_key_in_place(tmp_path):
    path = write_default_config(tmp_path / "config.toml")
    before = path.read_text().splitlines()
    set_value(path, "max_file_size", "4 GB")
    after = path.read_text().splitlines()
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert len(changed) == 1
    assert after[changed[0]] == 'max_file_size = "4 GB"'
    assert load_settings({}, path)[0].max_file_size == 4 * 1000**3


def test_set_appends_a_key_the_file_lacks(tmp_path):
    path = write(tmp_path / "config.toml", "# only a comment\n")
    set_value(path, "heartbeat_timeout", "12.5")
    assert path.read_text().startswith("# only a comment\n")
    assert load_settings({}, path)[0].heartbeat_timeout == 12.5


def test_set_creates_a_missing_file_with_the_commented_defaults(tmp_path):
    path = tmp_path / "new" / "config.toml"
    set_value(path, "tls", "false")
    text = path.read_text()
    assert "tls = false\n" in text and "# bell = true" in text


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [("port", "abc", "port must be a whole number"), ("port", "65536", "out of range"),
     ("tls", "maybe", "tls must be true or false"), ("colour", "red", "unknown settings key 'colour'"),
     ("accept_unknown", "sometimes", "must be one of ask, always, never"),
     ("log_level", "LOUD", "must be one of TRACE")],
)  # fmt: skip
def test_set_refuses_a_bad_value_and_leaves_the_file_alone(tmp_path, key, value, error):
    path = write(tmp_path / "config.toml", "# keep\nport = 1\n")
    with pytest.raises(ConfigError, match=error):
        set_value(path, key, value)
    assert path.read_text() == "# keep\nport = 1\n"


def test_get_reports_the_value_in_effect_and_its_source(monkeypatch):
    write(default_config_path(), "port = 1000\n")
    assert get_value("port") == ("1000", f"file {default_config_path()}")
    monkeypatch.setenv("P2PCHAT_PORT", "2000")
    assert get_value("port") == ("2000", "env P2PCHAT_PORT")
    assert get_value("tls") == ("true", "default")
    with pytest.raises(ConfigError, match="unknown settings key"):
        get_value("colour")


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [("nickname", "Zoë", "Zoë"), ("port", "0", 0), ("bind", "127.0.0.1", "127.0.0.1"),
     ("tls", "true", True), ("heartbeat_interval", "0.5", 0.5), ("reconnect", "30", 30.0),
     ("handshake_timeout", "4", 4.0), ("download_dir", "/srv/in", Path("/srv/in")),
     ("download_dir", "", None), ("auto_accept_files", "1", True), ("accept_unknown", "NEVER", "never"),
     ("max_file_size", "1000", 1000), ("save_history", "no", False), ("log_level", "trace", "TRACE"),
     ("theme", "gruvbox", "gruvbox"), ("bell", "off", False)],
)  # fmt: skip
def test_every_key_round_trips_through_the_file(tmp_path, key, text, value):
    path = write_default_config(tmp_path / "config.toml")
    set_value(path, key, text)
    settings, sources = load_settings({}, path)
    assert getattr(settings, key) == value
    assert sources[key] == f"file {path}"


@pytest.mark.parametrize(
    "text",
    [
        '[keymap]\n"app.quit" = "ctrl+x"\n"app.help" = "f2"\n',
        'keymap = { "app.quit" = "ctrl+x", "app.help" = "f2" }\n',
        'keymap = "app.quit=ctrl+x, app.help=f2"\n',  # the older form
    ],
    ids=["table", "inline", "string"],
)
def test_the_keymap_is_a_table_and_the_old_string_is_still_read(tmp_path, text):
    path = write(tmp_path / "config.toml", text)
    settings, _ = load_settings({}, path, environ={})
    assert settings.keymap == {"app.quit": "ctrl+x", "app.help": "f2"}


def test_a_keymap_entry_that_is_not_text_is_refused_with_its_line(tmp_path):
    path = write(tmp_path / "config.toml", 'port = 1\n[keymap]\n"app.quit" = 3\n')
    with pytest.raises(ConfigError, match=r"line 2: keymap entry 'app.quit'"):
        load_settings({}, path, environ={})


def test_config_set_keymap_writes_a_table_that_reads_back(tmp_path):
    path = tmp_path / "config.toml"
    set_value(path, "keymap", "app.quit=ctrl+x")
    set_value(path, "port", "9000")
    settings, _ = load_settings({}, path, environ={})
    assert settings.keymap == {"app.quit": "ctrl+x"} and settings.port == 9000
    assert 'keymap = {"app.quit" = "ctrl+x"}' in path.read_text()
    assert get_value("keymap", path)[0] == "app.quit=ctrl+x"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"app.quit"="ctrl+x"}', "is not binding-id=keys: write app.quit=ctrl+x"),
        ("app.nonexist=ctrl+x", "keymap has no binding 'app.nonexist'"),
        ("app.qiut=ctrl+x", "did you mean app.quit?"),
    ],
)
def test_config_set_keymap_refuses_unknown_binding_ids_and_writes_nothing(tmp_path, text, fragment):
    path = write(tmp_path / "config.toml", "port = 1\n")
    with pytest.raises(ConfigError) as refused:
        set_value(path, "keymap", text)
    assert fragment in str(refused.value) and "\n" not in str(refused.value)
    assert path.read_text() == "port = 1\n"


def test_the_environment_keymap_is_checked_like_config_set():
    with pytest.raises(ConfigError, match="P2PCHAT_KEYMAP: keymap has no binding 'app.nope'"):
        load_settings({}, environ={"P2PCHAT_KEYMAP": "app.nope=f5"})


def test_an_unknown_binding_id_in_the_file_is_read_so_the_app_can_warn(tmp_path):
    path = write(tmp_path / "config.toml", '[keymap]\n"app.nonexist" = "ctrl+x"\n')
    settings, _ = load_settings({}, path, environ={})
    assert settings.keymap == {"app.nonexist": "ctrl+x"}


def test_a_heartbeat_timeout_shorter_than_two_heartbeats_is_refused(monkeypatch, tmp_path):
    # Each value is fine alone; together the link would drop between two heartbeats.
    monkeypatch.setenv("P2PCHAT_HEARTBEAT_TIMEOUT", "3")
    with pytest.raises(ConfigError, match=r"heartbeat_timeout \(3 s\) must be at least twice heartbeat_interval \(5 s\)"):
        load_settings({})
    path = tmp_path / "config.toml"
    monkeypatch.delenv("P2PCHAT_HEARTBEAT_TIMEOUT")
    with pytest.raises(ConfigError, match="at least twice"):
        set_value(path, "heartbeat_interval", "30")
    assert not path.exists() or "heartbeat_interval = 30" not in path.read_text()
    set_value(path, "heartbeat_timeout", "60")
    set_value(path, "heartbeat_interval", "30")  # now it fits
    assert load_settings({}, path)[0].heartbeat_interval == 30
