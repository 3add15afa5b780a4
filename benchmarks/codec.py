"""Codec throughput: 256 KiB file chunks in MB/s and small text frames in frames/s, each next to
a baseline that only slices the same stream with `bytes` (no checks, no frame objects).

    python benchmarks/codec.py [--mib 256] [--texts 200000] [--read 65536]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import time

from p2pchat.protocol import (
    MAGIC,
    Decoder,
    FileChunk,
    Text,
    encode,
    encode_chunk_header,
)

CHUNK = 256 * 1024
HEADER = struct.Struct(">IB")


def best_of(runs: int, work) -> float:
    """The shortest of `runs` timings of `work()`, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def reads_of(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def decode_reads(pieces) -> int:
    decoder = Decoder(expect_magic=False)
    count = 0
    for piece in pieces:
        decoder.receive_data(piece)
        for _ in decoder:
            count += 1
    return count


def slice_baseline(stream: bytes, parse=None) -> int:
    """Frame boundaries by hand, each payload a `bytes` slice (one copy), optionally parsed."""
    pos, end, count = 0, len(stream), 0
    while pos < end:
        length, _ = HEADER.unpack_from(stream, pos)
        payload = stream[pos + 5 : pos + 5 + length]
        if parse is not None:
            parse(payload)
        pos += 5 + length
        count += 1
    return count


def row(label: str, amount: float, unit: str, seconds: float) -> None:
    print(f"  {label:<52} {amount / seconds:>12,.0f} {unit}")


def bench_chunks(mib: int, read_size: int, runs: int) -> None:
    count = mib * 1024 * 1024 // CHUNK
    data = os.urandom(CHUNK)
    chunks = [FileChunk(1, i * CHUNK, data) for i in range(count)]
    megabytes = count * CHUNK / 1e6
    print(f"{count} chunk frames of 256 KiB ({megabytes:,.0f} MB), reads of {read_size} bytes:")

    row("encode(FileChunk)", megabytes, "MB/s", best_of(runs, lambda: [encode(c) for c in chunks]))
    row(
        "encode_chunk_header (data written as is)",
        megabytes,
        "MB/s",
        best_of(runs, lambda: [encode_chunk_header(c.tid, c.offset, CHUNK) for c in chunks]),
    )
    row(
        "baseline: struct.pack + bytes concatenation",
        megabytes,
        "MB/s",
        best_of(
            runs,
            lambda: [struct.pack(">IBQQ", CHUNK + 16, 0x23, 1, c.offset) + data for c in chunks],
        ),
    )

    stream = MAGIC + b"".join(encode(c) for c in chunks)
    body = stream[len(MAGIC) :]
    byte_reads = reads_of(body, read_size)
    receive_buffer = bytearray(body)  # as a BufferedProtocol hands out views of its buffer
    view = memoryview(receive_buffer)
    view_reads = [view[i : i + read_size] for i in range(0, len(body), read_size)]

    assert decode_reads(byte_reads) == count
    row("Decoder, bytes reads", megabytes, "MB/s", best_of(runs, lambda: decode_reads(byte_reads)))
    row(
        "Decoder, memoryview reads of a mutable buffer (copied)",
        megabytes,
        "MB/s",
        best_of(runs, lambda: decode_reads(view_reads)),
    )
    row(
        "Decoder, whole stream in one call",
        megabytes,
        "MB/s",
        best_of(runs, lambda: decode_reads([body])),
    )
    row(
        "baseline: bytes slicing of the whole stream",
        megabytes,
        "MB/s",
        best_of(runs, lambda: slice_baseline(body)),
    )


def bench_texts(count: int, read_size: int, runs: int) -> None:
    texts = [
        Text(f"{i:032x}", 1700000000.0 + i, f"message number {i}, a short line of chat")
        for i in range(count)
    ]
    stream = b"".join(encode(t) for t in texts)
    print(
        f"{count:,} text frames of about {len(stream) // count} bytes, reads of {read_size} bytes:"
    )
    row("encode(Text)", count, "frames/s", best_of(runs, lambda: [encode(t) for t in texts]))
    row(
        "baseline: json.dumps + struct.pack",
        count,
        "frames/s",
        best_of(
            runs,
            lambda: [
                HEADER.pack(0, 0x10)
                + json.dumps({"id": t.id, "ts": t.ts, "body": t.body, "action": t.action}).encode()
                for t in texts
            ],
        ),
    )
    byte_reads = reads_of(stream, read_size)
    assert decode_reads(byte_reads) == count
    row("Decoder, bytes reads", count, "frames/s", best_of(runs, lambda: decode_reads(byte_reads)))
    row(
        "baseline: bytes slicing only",
        count,
        "frames/s",
        best_of(runs, lambda: slice_baseline(stream)),
    )
    row(
        "baseline: bytes slicing + json.loads",
        count,
        "frames/s",
        best_of(runs, lambda: slice_baseline(stream, json.loads)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=256, help="MiB of chunk frames (default 256)")
    parser.add_argument("--texts", type=int, default=200_000, help="text frames (default 200000)")
    parser.add_argument("--read", type=int, default=65536, help="bytes per simulated read")
    parser.add_argument("--runs", type=int, default=3, help="timed runs, the best is shown")
    args = parser.parse_args()
    bench_chunks(args.mib, args.read, args.runs)
    bench_texts(args.texts, args.read, args.runs)


if __name__ == "__main__":
    main()
