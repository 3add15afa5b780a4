"""Hold every packet of one NFQUEUE queue for a fixed time, then let it go, in arrival order.

Stands in for netem's delay on kernels without sch_netem: an iptables NFQUEUE rule hands the
packets to this process through netfilter's netlink queue, and each one gets its ACCEPT verdict
DELAY seconds after it arrived. Plain netlink, no library. It keeps up with ~200 Mbit/s because
it copies metadata only, takes GSO packets whole (F_GSO), has a long queue, and answers all due
packets with one batch verdict (the kernel numbers a queue's packets in order).

    python packet_delay.py QUEUE_NUMBER DELAY_SECONDS

Prints "ready" once bound; on SIGTERM prints "held N packets" and exits.
"""

from __future__ import annotations

import collections
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_CONFIG, NFQNL_MSG_VERDICT_BATCH = 0, 2, 3
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQA_CFG_F_GSO = 1 << 2
QUEUE_LENGTH = 65536
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NF_ACCEPT = 1
SO_RCVBUFFORCE = 33  # Linux: past rmem_max, we are root


def _attribute(kind: int, payload: bytes) -> bytes:
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + b"\0" * (-len(payload) % 4)


def _message(kind: int, queue: int, attributes: bytes, flags: int = NLM_F_REQUEST, seq: int = 0) -> bytes:
    body = struct.pack("=BBH", socket.AF_INET, 0, socket.htons(queue)) + attributes
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def _packet_ids(data: bytes, strict: bool = False):
    """Packet ids of the NFQNL_MSG_PACKET messages in one netlink datagram. A verdict for a
    packet the kernel already discarded (its device went down) earns an error reply: only
    `strict` (while configuring) turns errors into exceptions."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            return
        if kind == NLMSG_ERROR:
            error = struct.unpack_from("=i", data, offset + 16)[0]
            if error and strict:
                raise OSError(-error, f"netlink: {error}")
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            at = offset + 20  # past nlmsghdr and nfgenmsg
            while at + 4 <= offset + length:
                attr_len, attr_type = struct.unpack_from("=HH", data, at)
                if attr_len < 4:
                    break
                if attr_type & 0x3FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", data, at + 4)[0]
                    break
                at += (attr_len + 3) & ~3
        offset += (length + 3) & ~3


def _configure(sock: socket.socket, queue: int) -> None:
    bind = _attribute(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))
    meta_only = (_attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
                 + _attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_LENGTH))
                 + _attribute(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_GSO))
                 + _attribute(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_GSO)))
    for seq, attributes in enumerate((bind, meta_only), start=1):
        sock.send(_message(NFQNL_MSG_CONFIG, queue, attributes, NLM_F_REQUEST | NLM_F_ACK, seq))
        list(_packet_ids(sock.recv(65536), strict=True))


def run(queue: int, delay: float) -> int:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    sock.bind((0, 0))
    _configure(sock, queue)
    held: collections.deque[tuple[float, int]] = collections.deque()
    count = 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print("ready", flush=True)
    while not stopping:
        now = time.monotonic()
        last_due = None
        while held and held[0][0] <= now:
            last_due = held.popleft()[1]
        if last_due is not None:  # accepts every packet up to this one
            verdict = _attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, last_due))
            sock.send(_message(NFQNL_MSG_VERDICT_BATCH, queue, verdict))
        wait = max(0.0, held[0][0] - now) if held else 0.5
        try:
            readable, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        while readable:  # everything waiting now, before the next verdict
            try:
                data = sock.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError:  # ENOBUFS: the kernel dropped some; the queued ones still wait
                continue
            arrived = time.monotonic()
            for packet_id in _packet_ids(data):
                held.append((arrived + delay, packet_id))
                count += 1
    print(f"held {count} packets", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]), float(sys.argv[2])))
