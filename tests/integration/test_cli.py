"""The command line, run as a user runs it: a real `python -m p2pchat` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from p2pchat.cli import settings_from_args
from p2pchat.paths import get_paths

ROOT = Path(__file__).resolve().parents[2]


def p2pchat(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "p2pchat", *args],
        capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=30,
    )  # fmt: skip


def assert_usage_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("p2pchat: error: ")
    assert fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--connect", "example.org"], "'example.org' is not HOST:PORT"),
        (["--connect", "::1:8080"], "write IPv6 addresses in brackets"),
        (["--connect", "http://example.org:8080"], "is a http:// address, not a peer's: give HOST:PORT"),
        (["config", "set", "keymap", '{"app.quit"="ctrl+x"}'], "is not binding-id=keys"),
        (["--connect", "host:0"], "cannot connect to port 0"),
        (["--connect", "crossover-clockwork"], "is not a code: a code is a number and words"),
        (["--connect", "7"], "'7' is not a code"),
        (["--rendezvous", "http://example.org/v1"], "must be a ws:// or wss:// address"),
        (["--port", "70000"], "port 70000 is out of range (0-65535)"),
        (["--port", "eighty"], "port must be a number"),
        (["--nickname", ""], "nickname must be 1 to 32 characters"),
        (["--log-level", "LOUD"], "log_level must be one of"),
        (["config", "set", "colour", "red"], "unknown settings key 'colour'"),
        (["config", "get", "colour"], "unknown settings key 'colour'"),
        (["config", "set", "port", "many"], "port must be a whole number, not 'many'"),
        (["config", "frob"], "invalid choice: 'frob'"),
        (["--config", "/nonexistent/p2pchat.toml"], "settings file /nonexistent/p2pchat.toml does not exist"),
    ],
)
def test_user_errors_are_one_line_and_status_2(args, fragment):
    assert_usage_error(p2pchat(*args), fragment)


def test_a_wrong_type_in_the_settings_file_names_key_file_and_line():
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text("# mine\nheartbeat_timeout = \"soon\"\n")
    assert_usage_error(p2pchat("config", "show"), f"{path}, line 2: heartbeat_timeout must be a number")


def test_an_unreadable_settings_file_is_a_usage_error(tmp_path):
    assert_usage_error(p2pchat("--config", str(tmp_path)), "it is a directory")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"port = \xff\n")
    assert_usage_error(p2pchat("--config", str(bad)), "not UTF-8")


def test_a_bad_environment_value_is_a_usage_error():
    result = p2pchat("config", "show", env={"P2PCHAT_HEARTBEAT_TIMEOUT": "never"})
    assert_usage_error(result, "environment variable P2PCHAT_HEARTBEAT_TIMEOUT")


def test_version():
    result = p2pchat("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"p2pchat \d+\.\d+\.\d+\n", result.stdout)


def test_help_lists_every_option():
    result = p2pchat("--help")
    assert result.returncode == 0
    for option in ("--port", "--bind", "--connect", "--nickname", "--no-tls", "--plain",
                   "--download-dir", "--auto-accept", "--no-history", "--config", "--debug",
                   "--log-level", "--version", "config", "id"):  # fmt: skip
        assert option in result.stdout


def test_config_writes_the_commented_file_once():
    path = get_paths().config_file
    first = p2pchat("config")
    assert first.returncode == 0 and str(path) in first.stdout
    assert "# port = 8080" in path.read_text()

    path.write_text("# my own\nport = 1234\n")
    before = path.read_bytes()
    again = p2pchat("config")
    assert_usage_error(again, "already exists (use --force to replace it)")
    assert path.read_bytes() == before

    forced = p2pchat("config", "--force")
    assert forced.returncode == 0
    assert "# port = 8080" in path.read_text()


def test_config_set_then_get_keeps_comments():
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text("# my own comment\nport = 1234  # firewall\n")
    result = p2pchat("config", "set", "port", "5555")
    assert result.returncode == 0, result.stderr
    assert path.read_text() == "# my own comment\nport = 5555  # firewall\n"
    got = p2pchat("config", "get", "port")
    assert got.returncode == 0 and got.stdout == "5555\n"


def test_config_path_follows_home_and_the_config_option(tmp_path):
    assert p2pchat("config", "path").stdout == f"{get_paths().config_file}\n"
    other = tmp_path / "other.toml"
    assert p2pchat("--config", str(other), "config", "path").stdout == f"{other}\n"
    assert p2pchat("config", "path", "--config", str(other)).stdout == f"{other}\n"


def test_config_show_tells_where_each_value_came_from():
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('theme = "nord"\nport = 1000\n')
    result = p2pchat("--nickname", "carol", "config", "show", env={"P2PCHAT_PORT": "2000"})
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if " = " in line}
    assert lines["theme"].endswith(f"(file {path})") and "nord" in lines["theme"]
    assert lines["port"].endswith("(env P2PCHAT_PORT)") and "2000" in lines["port"]
    assert lines["nickname"].endswith("(command line)") and "carol" in lines["nickname"]
    assert lines["bell"].endswith("(default)")
    assert f"log file:      {get_paths().log_file}" in result.stdout


def test_a_fresh_home_names_the_public_rendezvous_and_relay():
    """The shipped defaults are magic-wormhole's public servers (the suite points both at
    nothing; a user who starts p2pchat gets these)."""
    env = {key: value for key, value in os.environ.items() if key not in ("P2PCHAT_RENDEZVOUS", "P2PCHAT_RELAY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "p2pchat", "config", "show"], capture_output=True, text=True, env=env, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if " = " in line}
    assert "ws://relay.magic-wormhole.io:4000/v1" in lines["rendezvous"] and lines["rendezvous"].endswith("(default)")
    assert "tcp:transit.magic-wormhole.io:4001" in lines["relay"] and lines["relay"].endswith("(default)")


def test_command_line_flags_set_their_settings():
    settings, sources = settings_from_args(
        ["--port", "9000", "--no-history", "--no-tls", "--auto-accept", "--plain", "--debug",
         "--download-dir", "/tmp/in", "--connect", "127.0.0.1:8081", "--bind", "127.0.0.1"]
    )  # fmt: skip
    assert settings.port == 9000 and settings.port_explicit
    assert settings.save_history is False and sources["save_history"] == "command line"
    assert settings.tls is False and settings.auto_accept_files and settings.plain
    assert settings.debug and settings.log_level == "DEBUG"
    assert settings.download_dir == Path("/tmp/in")
    assert settings.connect == "127.0.0.1:8081" and settings.bind == "127.0.0.1"


def test_no_port_mapping_and_no_discovery_turn_both_off(monkeypatch):
    monkeypatch.delenv("P2PCHAT_PORT_MAPPING")  # the suite's environment turns them off already
    monkeypatch.delenv("P2PCHAT_DISCOVERABLE")
    settings, sources = settings_from_args([])
    assert settings.port_mapping and settings.discoverable  # on by default
    settings, sources = settings_from_args(["--no-port-mapping", "--no-discovery"])
    assert settings.port_mapping is False and sources["port_mapping"] == "command line"
    assert settings.discoverable is False and sources["discoverable"] == "command line"


def test_without_options_nothing_is_explicit_and_no_peer_is_dialled():
    settings, _ = settings_from_args([])
    assert settings.connect is None
    assert settings.port_explicit is False


def test_a_debug_run_keeps_an_explicit_trace_level():
    settings, _ = settings_from_args(["--debug", "--log-level", "trace"])
    assert settings.log_level == "TRACE"


def test_id_prints_the_fingerprint_and_share_address():
    result = p2pchat("id")
    assert result.returncode == 0, result.stderr
    assert "fingerprint:" in result.stdout and "p2pchat://" in result.stdout
    again = p2pchat("id")
    assert again.stdout.splitlines()[0] == result.stdout.splitlines()[0]  # the identity persists


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.MULTILINE)
    assert command, "the CI script names its test command"
    assert f"\n{command.group(1)}\n" in readme


@pytest.mark.parametrize("command", [["id"], ["config", "show"]])
def test_a_reader_that_leaves_early_gets_no_traceback(command):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `p2pchat id | head -1` after head has its line
    try:
        result = subprocess.run(
            [sys.executable, "-m", "p2pchat", *command], stdout=write_end, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, timeout=30,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141


def test_id_bound_to_one_address_hands_out_that_address():
    result = p2pchat("--bind", "127.0.0.1", "--port", "7357", "id")
    assert "share:       p2pchat://127.0.0.1:7357/" in result.stdout


@pytest.mark.parametrize("where", ["file", "env"])
def test_a_taken_port_from_the_settings_file_or_environment_stops_the_start(where):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"P2PCHAT_PORT": str(port)}
        if where == "file":
            env = {}
            get_paths().config_file.parent.mkdir(parents=True, exist_ok=True)
            get_paths().config_file.write_text(f"port = {port}\n")
        result = p2pchat("--plain", "--bind", "127.0.0.1", "--no-history", env=env)
    assert result.returncode != 0, result
    assert f"port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    where_from = f"settings file {get_paths().config_file}" if where == "file" else "environment (P2PCHAT_PORT)"
    assert f"it comes from the {where_from}: choose another there" in result.stderr, result.stderr


def test_only_the_built_in_default_port_may_move(monkeypatch):
    get_paths().config_file.parent.mkdir(parents=True, exist_ok=True)
    get_paths().config_file.write_text("port = 9000\n")
    assert settings_from_args([])[0].port_explicit
    get_paths().config_file.write_text("nickname = \"x\"\n")
    assert not settings_from_args([])[0].port_explicit
    monkeypatch.setenv("P2PCHAT_PORT", "9001")
    assert settings_from_args([])[0].port_explicit
