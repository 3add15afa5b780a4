"""`p2pchat invite`, `--relay` and invites given to `--connect`, as a user runs them."""

from __future__ import annotations

import pytest
from test_cli import assert_usage_error, p2pchat

from p2pchat.paths import get_paths
from p2pchat.protocol.invite import parse_invite
from p2pchat.reach.invites import Invites


def test_invite_prints_one_line_that_parses_and_is_pending():
    result = p2pchat("--relay", "tcp:relay.example.org:4001", "--port", "9123", "invite")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert "\n" not in line
    invite = parse_invite(line)
    assert [str(r) for r in invite.relays] == ["relay.example.org:4001"]
    assert all(port == 9123 for _, port in invite.addresses)
    assert "good for one peer within 24 hours" in result.stderr
    assert Invites(get_paths().invites_file).pending() == [invite.secret]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--relay", "relay.example.org:4001"], "write tcp:HOST:PORT"),
        (["--relay", "tcp:relay.example.org:0"], "relay port"),
        (["--connect", "p2pchat1aaaaaaaaaaaaaaaa"], "invite"),
        (["--no-tls", "invite"], "invites need TLS"),
    ],
)
def test_bad_relay_or_invite_is_one_line_and_exit_2(args, fragment):
    assert_usage_error(p2pchat(*args), fragment)


def test_an_invite_with_a_typo_is_not_dialled():
    line = p2pchat("invite").stdout.strip()
    typo = line[:20] + ("a" if line[20] != "a" else "b") + line[21:]
    assert_usage_error(p2pchat("--plain", "--connect", typo), "typo")


def test_relay_setting_in_the_file_is_checked(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('relay = "tcp:a.example:1, nonsense"\n')
    assert_usage_error(p2pchat("--config", str(config), "--plain"), "nonsense")


def test_invite_without_a_reachable_rendezvous_prints_the_line_and_why_there_is_no_code():
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: refused at once
        url = f"ws://127.0.0.1:{closed.getsockname()[1]}/v1"
        result = p2pchat("--rendezvous", url, "invite")
        assert result.returncode == 0, result.stderr
        parse_invite(result.stdout.strip())
        assert f"no code: the rendezvous server {url} cannot be reached" in result.stderr
        quiet = p2pchat("--rendezvous", url, "invite", "--no-code")
        assert quiet.returncode == 0 and "no code" not in quiet.stderr
        parse_invite(quiet.stdout.strip())


def test_invite_and_id_name_the_port_the_running_p2pchat_listens_on(spawn, tmp_path):
    alice = spawn("alice", "--port", "0")  # not the settings' 8080
    port = alice.port()
    home = {"P2PCHAT_HOME": str(tmp_path / "alice")}
    invite = p2pchat("invite", "--no-code", env=home)
    assert invite.returncode == 0, invite.stderr
    assert {p for _, p in parse_invite(invite.stdout.strip()).addresses} == {port}
    assert f":{port}/" in p2pchat("id", env=home).stdout

    alice.kill9()  # the record it leaves names a process that is gone
    invite = p2pchat("invite", "--no-code", env=home)
    assert {p for _, p in parse_invite(invite.stdout.strip()).addresses} == {8080}
    assert "no p2pchat is running with these files, so this names port 8080" in invite.stderr
    assert "note:" in p2pchat("id", env=home).stdout
