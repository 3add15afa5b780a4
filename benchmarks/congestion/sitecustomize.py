"""Benchmarks only: with BENCH_TCP_CONGESTION set (and this folder on PYTHONPATH), every TCP
socket this Python process binds or connects uses that congestion control (TCP_CONGESTION,
Linux; root may pick any the kernel has). Accepted sockets inherit it from their listener.
p2pchat itself never chooses one."""

import os
import socket

_NAME = os.environ.get("BENCH_TCP_CONGESTION", "").encode()


def _choosing(method):
    def wrapper(self, *args, **kwargs):
        if _NAME and self.type == socket.SOCK_STREAM and self.family in (socket.AF_INET, socket.AF_INET6):
            try:
                self.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, _NAME)
            except OSError:
                pass
        return method(self, *args, **kwargs)

    return wrapper


if _NAME and hasattr(socket, "TCP_CONGESTION"):
    socket.socket.bind = _choosing(socket.socket.bind)
    socket.socket.connect = _choosing(socket.socket.connect)
    socket.socket.connect_ex = _choosing(socket.socket.connect_ex)
