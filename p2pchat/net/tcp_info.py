"""What the kernel knows about one TCP connection (Linux TCP_INFO): its smoothed round trip,
how many bytes the peer acknowledged and how many it holds unacknowledged, whether the peer has
closed; and a bound on the bytes it keeps unsent.

Elsewhere these answer None or do nothing, and file data is then not paced (TCP alone).
"""

from __future__ import annotations

import socket
import struct
import sys

# Not in Python's socket module: the values from <netinet/tcp.h>.
_NOTSENT_LOWAT = {"linux": 25, "darwin": 0x201}.get(sys.platform)
_TCP_INFO = getattr(socket, "TCP_INFO", None) if sys.platform == "linux" else None
# Offsets in struct tcp_info (<linux/tcp.h>); tcpi_notsent_bytes needs Linux 4.6.
_MSS_AT, _UNACKED_AT, _RTT_AT, _ACKED_AT, _NOTSENT_AT, _INFO_SIZE = 16, 24, 68, 120, 144, 148


def bound_unsent(sock, nbytes: int) -> bool:
    """Keep at most about `nbytes` written but not yet sent in the kernel (TCP_NOTSENT_LOWAT):
    the window still grows with the path, while little waits where chat cannot overtake it."""
    if _NOTSENT_LOWAT is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _NOTSENT_LOWAT, nbytes)
    except OSError:
        return False
    return True


def path_sample(sock) -> tuple[float, int, int, int] | None:
    """(smoothed round trip in seconds, bytes acknowledged so far, bytes sent and not yet
    acknowledged, bytes written and not yet sent), or None where unknown."""
    if _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _INFO_SIZE)
    except OSError:
        return None
    if len(info) < _INFO_SIZE:
        return None  # a kernel older than 4.6
    mss = struct.unpack_from("=I", info, _MSS_AT)[0]
    unacked = struct.unpack_from("=I", info, _UNACKED_AT)[0]
    rtt_us = struct.unpack_from("=I", info, _RTT_AT)[0]
    acked = struct.unpack_from("=Q", info, _ACKED_AT)[0]
    notsent = struct.unpack_from("=I", info, _NOTSENT_AT)[0]
    return (rtt_us / 1e6, acked, unacked * mss, notsent) if rtt_us else None


_STATE_AT = 0  # tcpi_state, one byte
_ESTABLISHED = 1


def peer_closed(sock) -> bool:
    """Whether the peer has ended its side (its FIN or RST has arrived, perhaps behind data not
    read yet); False where unknown."""
    if _TCP_INFO is None:
        return False
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 8)
    except OSError:
        return False
    return len(info) > _STATE_AT and info[_STATE_AT] != _ESTABLISHED


def clamp_window(sock, nbytes: int) -> bool:
    """Advertise at most `nbytes` of receive window (TCP_WINDOW_CLAMP, Linux)."""
    option = getattr(socket, "TCP_WINDOW_CLAMP", None)
    if option is None or sys.platform != "linux":
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, nbytes)
    except OSError:
        return False
    return True
