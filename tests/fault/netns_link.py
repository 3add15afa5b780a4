"""An emulated internet path between two network namespaces, for fault tests and benchmarks.

    a (198.51.100.1) --veth-- router --veth-- b (198.51.100.66)

The router namespace forwards between the two ends; `tc tbf` on each of its two egress
devices is the bottleneck (rate and queue), as a home router's uplink would be. Packets
queued there belong to no socket any more, so TCP small queues do not hide the queue.
The delay is added as packets ARRIVE at an end: an iptables NFQUEUE rule in PREROUTING
hands them to packet_delay.py, which releases each one `delay` later (held as they leave,
they would stay charged to the sending socket and throttle it). Loss is an nftables
`numgen random` drop of arriving packets. No sch_netem needed (this kernel has none).

Addresses are TEST-NET-2 (RFC 5737), only ever configured inside namespaces made here.
Anything missing (root, `ip`, `tc`, `nft`, `iptables`) raises LinkUnavailable.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

from tests.support.netns import Namespaces, NetnsUnavailable, run, why_not

ADDRESS_A, ADDRESS_B = "198.51.100.1", "198.51.100.66"
_ROUTER_A, _ROUTER_B = "198.51.100.2", "198.51.100.65"
LOSS_TABLE = "p2pchat_loss"
DELAY_QUEUE = "1"
PACKET_DELAY = Path(__file__).with_name("packet_delay.py")


LinkUnavailable = NetnsUnavailable  # this machine cannot build the link; the message says why


def run_in(netns: str, *command: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return run(*command, netns=netns, stdin=stdin, check=check, timeout=10)


class Link:
    """Namespaces `ns_a` and `ns_b` (plus a router) joined by two veth pairs.

    `shape(rate_mbit, rtt_ms, loss_percent)` makes the path slow, long and lossy; `remove()`
    undoes everything. `prefix` names the namespaces and devices so they are easy to find.
    """

    def __init__(self, prefix: str = "p2pc") -> None:
        tag = secrets.token_hex(3)
        self.ns_a, self.ns_r, self.ns_b = (f"{prefix}-{end}-{tag}" for end in "arb")
        # Device names are at most 15 characters.
        self.dev_a, self.dev_ra, self.dev_rb, self.dev_b = (f"{prefix[:4]}{end}{tag}" for end in ("a", "ra", "rb", "b"))
        self.ends = ((self.ns_a, self.dev_a), (self.ns_b, self.dev_b))
        self.shaping = ""
        self.delayers: list[subprocess.Popen] = []
        self.namespaces = Namespaces()

    def create(self) -> None:
        reason = why_not("tc", "nft", "iptables")
        if reason:
            raise LinkUnavailable(reason)
        ns = self.namespaces
        for name in (self.ns_a, self.ns_r, self.ns_b):
            ns.add(name)
        ns.veth(self.ns_a, self.dev_a, self.ns_r, self.dev_ra)
        ns.veth(self.ns_b, self.dev_b, self.ns_r, self.dev_rb)
        for name, dev, address in ((self.ns_a, self.dev_a, ADDRESS_A), (self.ns_r, self.dev_ra, _ROUTER_A),
                                   (self.ns_r, self.dev_rb, _ROUTER_B), (self.ns_b, self.dev_b, ADDRESS_B)):
            ns.address(name, dev, f"{address}/26")
        ns.default_route(self.ns_a, _ROUTER_A)
        ns.default_route(self.ns_b, _ROUTER_B)
        ns.router(self.ns_r)
        ns.wait_for_carrier(self.ns_r)

    def shape(self, rate_mbit: float | None, rtt_ms: float, loss_percent: float = 0) -> None:
        """`rate_mbit` each way at the router (None: unlimited), `rtt_ms` round trip, and
        `loss_percent` of the packets arriving at each end dropped."""
        if rate_mbit:
            # The router's queue holds 100 ms at the link's rate, like a typical home router.
            limit = max(256 * 1024, int(rate_mbit * 1e6 / 8 * 0.1))
            for dev in (self.dev_ra, self.dev_rb):
                run_in(self.ns_r, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{rate_mbit}mbit",
                       "burst", "64kb", "limit", str(limit))
        for ns, dev in self.ends:
            if loss_percent:
                self._drop_some(ns, dev, loss_percent)
            self._delay_arriving(ns, dev, rtt_ms / 2000)
        self.shaping = (f"{f'{rate_mbit:g} Mbit/s' if rate_mbit else 'unlimited'} (tbf at the router), "
                        f"{rtt_ms:g} ms round trip (NFQUEUE holds arriving packets)"
                        + (f", {loss_percent:g}% loss (nft numgen)" if loss_percent else ""))

    def _drop_some(self, ns: str, dev: str, percent: float) -> None:
        rules = (f"table inet {LOSS_TABLE} {{\n chain input {{\n type filter hook prerouting priority -400; policy accept;\n"
                 f' iifname "{dev}" numgen random mod 1000 < {round(percent * 10)} counter drop\n }}\n}}\n')
        done = run_in(ns, "nft", "-f", "-", stdin=rules, check=False)
        if done.returncode != 0:
            raise LinkUnavailable(f"nft cannot add the loss rule: {done.stderr.strip()}")

    def _delay_arriving(self, ns: str, dev: str, seconds: float) -> None:
        delayer = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(PACKET_DELAY), DELAY_QUEUE,
                                    str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.delayers.append(delayer)
        if delayer.stdout.readline().strip() != "ready":
            delayer.wait(5)
            raise LinkUnavailable(f"the NFQUEUE delayer did not start: {delayer.stderr.read().strip()}")
        # No --queue-bypass: were the delayer to die, the link would go dead rather than fast.
        done = run_in(ns, "iptables", "-t", "mangle", "-A", "PREROUTING", "-i", dev, "-j", "NFQUEUE",
                      "--queue-num", DELAY_QUEUE, check=False)
        if done.returncode != 0:
            raise LinkUnavailable(f"iptables cannot add the NFQUEUE rule: {done.stderr.strip()}")

    def dropped(self) -> int:
        """Packets the nft loss rules dropped, both ends together."""
        total = 0
        for ns, _dev in self.ends:
            listing = run_in(ns, "nft", "list", "table", "inet", LOSS_TABLE, check=False).stdout
            total += sum(int(n) for n in re.findall(r"counter packets (\d+)", listing))
        return total

    def delayed(self) -> int:
        """Packets the NFQUEUE rules handed to the delayers, both ends together."""
        total = 0
        for ns, _dev in self.ends:
            listing = run_in(ns, "iptables", "-t", "mangle", "-nvxL", "PREROUTING").stdout
            total += sum(int(line.split()[0]) for line in listing.splitlines() if "NFQUEUE" in line)
        return total

    def set_up(self, up: bool) -> None:
        """Cut (False) or restore (True) the path at a's end."""
        run_in(self.ns_a, "ip", "link", "set", self.dev_a, "up" if up else "down")
        if up:  # the default route went with the device
            self.namespaces.default_route(self.ns_a, _ROUTER_A)

    def remove(self) -> None:
        for delayer in self.delayers:
            if delayer.poll() is None:
                delayer.terminate()
            try:
                delayer.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                delayer.kill()
                delayer.communicate()
        self.namespaces.remove()  # takes the veth ends, rules and qdiscs along
