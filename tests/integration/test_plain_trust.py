"""Plain mode at a terminal asks about a new peer, as the app does; a pipe cannot answer."""

from __future__ import annotations

ASK = {"P2PCHAT_ACCEPT_UNKNOWN": "ask"}


def test_a_new_peer_is_asked_about_and_a_chat_line_still_goes_out(spawn):
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", env=ASK, tty=True)
    port = bob.port()
    alice = spawn("alice", "--connect", f"127.0.0.1:{port}")
    question = bob.wait_line(r"new peer alice at .*, fingerprint [0-9A-Z]{4}-.*: trust it\? Type y or n")
    assert bob.count(r"connected to alice") == 0  # nothing trusted before the answer
    bob.type("hello while asked")  # not an answer: a chat line, delivered once the peer is in
    bob.type("Y")
    bob.wait_line(r"^\* connected to alice", start=bob.lines.index(question.string))
    assert alice.wait_received("bob", 1, 15) == ["hello while asked"]


def test_no_refuses_the_new_peer(spawn):
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", env=ASK, tty=True)
    alice = spawn("alice", "--connect", f"127.0.0.1:{bob.port()}")
    bob.wait_line(r"new peer alice .*trust it\?")
    bob.type("n")
    bob.wait_line(r"refused 'alice' .*unknown identity .*\(you denied it\)")
    alice.wait_line(r"refused to talk to this identity")
    assert bob.count(r"connected to alice") == 0


def test_a_pipe_nobody_answers_still_accepts_with_a_notice(spawn):
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", env=ASK)
    spawn("alice", "--connect", f"127.0.0.1:{bob.port()}")
    bob.wait_line(r"new identity .* for alice; compare the short code with /verify")
    bob.wait_line(r"^\* connected to alice")
