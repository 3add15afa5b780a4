"""Files a run was sending when it stopped go out again when their peer is next connected."""

from __future__ import annotations

import os

from p2pchat.session.events import Connected, Notice
from p2pchat.session.unfinished import LeftSend, Unfinished, load_unfinished, save_unfinished
from tests.support.session import start_session, wait_until


async def test_a_send_left_by_an_earlier_run_is_named_at_start_and_offered_when_the_peer_is_back(tmp_path):
    source, gone = tmp_path / "report.bin", tmp_path / "gone.bin"
    source.write_bytes(os.urandom(300_000))
    async with start_session(tmp_path, "alice", auto_accept_files=True) as a:
        async with start_session(tmp_path, "bob") as b:  # they meet once: bob knows alice
            await b.session.connect(a.address)
            await b.events.wait_for(Connected)
            record_file = b.session.paths.unfinished_file
        await wait_until(lambda: not a.session.connected)
        peer = a.session.own_fingerprint
        save_unfinished(record_file, Unfinished(sends={  # what a run killed mid-send leaves
            str(source): LeftSend(str(source), "report.bin", peer, 300_000, 120_000),
            str(gone): LeftSend(str(gone), "gone.bin", peer, 10, 5),
        }))

        async with start_session(tmp_path, "bob") as b:
            said = [e.text for e in b.events.of(Notice)]
            assert "report.bin to alice was interrupted at 40% when p2pchat stopped: it is offered again " \
                   "when alice is connected" in said
            assert f"gone.bin to alice was interrupted at 50% when p2pchat stopped, and {gone} is no longer " \
                   "there: not offered again" in said
            await b.session.connect(a.address)
            await b.events.wait_for(Notice, lambda e: "report.bin to alice" in e.text and "offering it again" in e.text)
            received = a.session.paths.downloads_dir / "report.bin"
            await wait_until(lambda: received.exists(), timeout=15)
            assert received.read_bytes() == source.read_bytes()
            await wait_until(lambda: load_unfinished(record_file).sends == {})
            assert len([e for e in b.events.of(Notice) if "offering it again" in e.text]) == 1


async def test_a_running_send_is_written_to_the_record_every_few_seconds_not_at_each_percent(tmp_path, monkeypatch):
    import p2pchat.session.service as service
    from tests.fault.cut_proxy import CutProxy

    saved: list[int] = []  # the send's bytes on record at each write

    def counting(path, record):
        saved.append(sum(s.done for s in record.sends.values()))
        return save_unfinished(path, record)

    monkeypatch.setattr(service, "save_unfinished", counting)
    source = tmp_path / "slow.bin"
    source.write_bytes(os.urandom(6_000_000))
    async with start_session(tmp_path, "alice", auto_accept_files=True) as a:
        with CutProxy(a.session.listening_port, bytes_per_second=1_500_000) as proxy:
            async with start_session(tmp_path, "bob") as b:
                await b.session.connect(f"127.0.0.1:{proxy.port}")
                await b.events.wait_for(Connected)
                await b.session.offer_files([source])
                await wait_until(lambda: any(t.state == "done" for t in b.session.transfers), timeout=30)
    # About four seconds at 1.5 MB/s: a hundred new percents, a few writes, one with progress.
    assert 2 <= len(saved) <= 8, saved
    assert any(0 < done < 6_000_000 for done in saved), saved


async def test_a_send_interrupted_by_quitting_is_on_record_at_the_percent_it_reached(tmp_path):
    """The sender listens (it dialed nobody, so quitting ends no call that would write the
    record anyway): its send's last percent must still reach the record."""
    from tests.fault.cut_proxy import CutProxy

    source = tmp_path / "slow.bin"
    source.write_bytes(os.urandom(6_000_000))
    async with start_session(tmp_path, "alice") as a:
        with CutProxy(a.session.listening_port, bytes_per_second=1_500_000) as proxy:
            async with start_session(tmp_path, "bob", auto_accept_files=True) as b:
                await b.session.connect(f"127.0.0.1:{proxy.port}")
                await a.events.wait_for(Connected)
                await a.session.offer_files([source])
                await wait_until(lambda: any(t.done > 600_000 for t in a.session.transfers), timeout=10)
                record_file = a.session.paths.unfinished_file
                await a.session.quit()  # before the 2 s of a progress write are up
                left = load_unfinished(record_file).sends[str(source)]
                assert left.done > 600_000, left
