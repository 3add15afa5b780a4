"""kill -9 of either peer mid-transfer, then a restart: the file arrives identical."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.fault.cut_proxy import CutProxy

pytestmark = pytest.mark.fault

SIZE = 3 * 1024 * 1024
RATE = 2 * 1024 * 1024  # bytes/s through the proxy, so the kill lands mid-transfer


def test_receiver_killed_mid_transfer_gets_an_identical_file_after_restart(spawn, tmp_path):
    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(SIZE))
    downloads = tmp_path / "downloads"
    alice = spawn("alice", "--port", "0", "--bind", "127.0.0.1")
    with CutProxy(alice.port(), bytes_per_second=RATE) as proxy:
        receiver_args = ("--port", "0", "--bind", "127.0.0.1", "--connect", f"127.0.0.1:{proxy.port}",
                         "--auto-accept", "--download-dir", str(downloads))
        bob = spawn("bob", *receiver_args)
        alice.wait_line(r"^\* connected to bob")
        alice.type(f"/send {source}")
        part = downloads / "payload.bin.part"
        bob.wait_for(lambda _: part.exists() and part.stat().st_size > SIZE // 4, 20, "a quarter of the file")
        bob.kill9()
        assert not (downloads / "payload.bin").exists()

        bob = spawn("bob", *receiver_args, home=tmp_path / "bob")
        bob.wait_line(r"payload\.bin: resumed at \d+%", 20)
        bob.wait_line(r"payload\.bin .*received|payload\.bin .*saved", 30)
    received = downloads / "payload.bin"
    assert hashlib.sha256(received.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert not part.exists()


def test_killed_dialer_calls_again_and_its_send_resumes(spawn, tmp_path):
    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(SIZE))
    downloads = tmp_path / "downloads"
    alice = spawn("alice", "--port", "0", "--bind", "127.0.0.1", "--auto-accept", "--download-dir", str(downloads))
    with CutProxy(alice.port(), bytes_per_second=RATE) as proxy:
        bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", "--connect", f"127.0.0.1:{proxy.port}")
        alice.wait_line(r"^\* connected to bob")
        bob.type(f"/send {source}")
        part = downloads / "payload.bin.part"
        alice.wait_for(lambda _: part.exists() and part.stat().st_size > SIZE // 4, 20, "a quarter of the file")
        bob.kill9()

        bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", home=tmp_path / "bob")  # no --connect
        bob.wait_line(r"payload\.bin to alice was interrupted at \d+% when p2pchat stopped: it is offered again "
                      r"when alice is connected", 10)
        bob.wait_line(r"the last chat with alice ended without a goodbye \(p2pchat stopped\): calling again", 10)
        bob.wait_line(rf"connecting to 127\.0\.0\.1:{proxy.port}", 10)
        bob.wait_line(r"^\* connected to alice", 20)
        bob.wait_line(r"payload\.bin to alice was interrupted at \d+% when p2pchat stopped: offering it again", 10)
        alice.wait_line(r"payload\.bin: resumed at \d+%", 20)
        alice.wait_line(r"payload\.bin .*received|payload\.bin .*saved", 30)
        bob.wait_line(r"payload\.bin sent", 10)  # bob hears the result after alice says it
    received = downloads / "payload.bin"
    assert hashlib.sha256(received.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert not (tmp_path / "bob" / "data" / "unfinished.json").exists() or b"payload" not in (
        tmp_path / "bob" / "data" / "unfinished.json").read_bytes()
