"""A small internet in network namespaces: two homes behind masquerading routers, a public host,
and a real magic-wormhole transit relay.

    internet (203.0.113.0/24, TEST-NET-3), a bridge in namespace `inet`:
        203.0.113.1   the transit relay (in `inet` itself)
        203.0.113.11  home router 1 (WAN)  --  198.51.100.0/26:  home 1 at .2
        203.0.113.12  home router 2 (WAN)  --  198.51.100.64/26: home 2 at .66
        203.0.113.20  a public host (no NAT)

Each router masquerades what leaves its WAN and forwards nothing inward that its LAN did not
start (nftables, conntrack), like a home router without port forwards. Only documentation
addresses (RFC 5737) are used, inside namespaces the lab creates and deletes; this machine's own
interface is on TEST-NET-1, which the lab does not touch.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: transit_relay
from transit_relay import TransitRelay, twist_command  # noqa: E402

INTERNET = "203.0.113"
RELAY_ADDRESS = f"{INTERNET}.1"
RELAY_PORT = 4001
PUBLIC_ADDRESS = f"{INTERNET}.20"
HOMES = {1: ("198.51.100.1", "198.51.100.2", 26), 2: ("198.51.100.65", "198.51.100.66", 26)}


def run(*command: str, netns: str | None = None, stdin: str | None = None, check: bool = True):
    if netns is not None:
        command = ("ip", "netns", "exec", netns, *command)
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=15)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done


def why_not() -> str | None:
    """The reason the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the NAT lab needs root (network namespaces and nftables)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"the NAT lab needs {tool} (packages iproute2, nftables)"
    if twist_command() is None:
        return "magic-wormhole-transit-relay is not installed (pip install -e '.[test]')"
    return None


def router_rules(wan: str, lan: str, lan_subnet: str | None = None) -> str:
    """A home router: masquerade outbound, forward nothing inward, and drop (not refuse) what
    arrives unasked, as most home routers do (a reset would end the other side's hole punching
    SYN before its own router let it in). With `lan_subnet` (a bridged
    LAN of several machines) br_netfilter sends frames between them through this forward chain:
    accept them, and mDNS multicast, or the LAN is cut in pieces."""
    lan_to_lan = (
        f"    ip saddr {lan_subnet} ip daddr {{ {lan_subnet}, 224.0.0.0/4 }} accept\n" if lan_subnet else ""
    )
    return f"""
table ip p2pchat_nat {{
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname "{wan}" masquerade
  }}
}}
table inet p2pchat_home {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname "{wan}" ct state new drop
  }}
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
{lan_to_lan}    iifname "{lan}" oifname "{wan}" accept
  }}
}}
"""


class NatLab:
    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        self.tag = tag
        self.inet = f"p2pc-nat-inet-{tag}"
        self.routers = {i: f"p2pc-nat-r{i}-{tag}" for i in HOMES}
        self.homes = {i: f"p2pc-nat-h{i}-{tag}" for i in HOMES}
        self.public = f"p2pc-nat-pub-{tag}"
        self.bridge = f"nb{tag}"
        self.relay = TransitRelay(RELAY_ADDRESS, RELAY_PORT, netns=self.inet)
        self._namespaces: list[str] = []

    @property
    def relay_setting(self) -> str:
        return f"tcp:{RELAY_ADDRESS}:{RELAY_PORT}"

    def _netns(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self._namespaces.append(name)
        run("ip", "link", "set", "lo", "up", netns=name)

    def _to_internet(self, netns: str, device: str, address: str) -> None:
        """A veth from `netns` to the internet bridge, with `address` on its end."""
        outside = f"{device}x"
        run("ip", "link", "add", device, "netns", netns, "type", "veth", "peer", "name", outside, "netns", self.inet)
        run("ip", "link", "set", outside, "master", self.bridge, "up", netns=self.inet)
        run("ip", "addr", "add", f"{address}/24", "dev", device, netns=netns)
        run("ip", "link", "set", device, "up", netns=netns)

    def create(self) -> NatLab:
        try:
            self._netns(self.inet)
        except RuntimeError as exc:
            pytest.skip(f"cannot create network namespaces here: {exc}")
        run("ip", "link", "add", self.bridge, "type", "bridge", netns=self.inet)
        run("ip", "addr", "add", f"{RELAY_ADDRESS}/24", "dev", self.bridge, netns=self.inet)
        run("ip", "link", "set", self.bridge, "up", netns=self.inet)
        # br_netfilter sends bridged frames through this namespace's forward hook, which has
        # no rules here: they pass.
        for i, (gateway, host, prefix) in HOMES.items():
            router, home = self.routers[i], self.homes[i]
            wan, lan, inside = f"nw{i}{self.tag}", f"nl{i}{self.tag}", f"nh{i}{self.tag}"
            self._netns(router)
            self._netns(home)
            self._to_internet(router, wan, f"{INTERNET}.1{i}")
            run("ip", "link", "add", lan, "netns", router, "type", "veth", "peer", "name", inside, "netns", home)
            run("ip", "addr", "add", f"{gateway}/{prefix}", "dev", lan, netns=router)
            run("ip", "link", "set", lan, "up", netns=router)
            run("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=router)
            run("nft", "-f", "-", netns=router, stdin=router_rules(wan, lan))
            run("ip", "addr", "add", f"{host}/{prefix}", "dev", inside, netns=home)
            run("ip", "link", "set", inside, "up", netns=home)
            run("ip", "route", "add", "default", "via", gateway, netns=home)
        self._netns(self.public)
        self._to_internet(self.public, f"np{self.tag}", PUBLIC_ADDRESS)
        return self

    def readdress(self, i: int, host: str) -> None:
        """Move home `i` to another address on its LAN (a new DHCP lease)."""
        gateway, old, prefix = HOMES[i]
        device = f"nh{i}{self.tag}"
        run("ip", "addr", "flush", "dev", device, netns=self.homes[i])
        run("ip", "addr", "add", f"{host}/{prefix}", "dev", device, netns=self.homes[i])
        run("ip", "route", "replace", "default", "via", gateway, netns=self.homes[i])

    def randomise_ports(self, i: int, on: bool = True) -> None:
        """Make home `i`'s router map every connection to a random public port ("symmetric")."""
        wan = f"nw{i}{self.tag}"
        how = "masquerade fully-random" if on else "masquerade"
        run("nft", "-f", "-", netns=self.routers[i], stdin=f"""
flush chain ip p2pchat_nat postrouting
add rule ip p2pchat_nat postrouting oifname "{wan}" {how}
""")

    def slow_relay(self, rate: str | None) -> None:
        """Limit what the relay sends (not what crosses the internet directly) to `rate`
        ("20mbit"); None lifts the limit."""
        if rate is None:
            run("tc", "qdisc", "del", "dev", self.bridge, "root", netns=self.inet, check=False)
        else:
            run("tc", "qdisc", "replace", "dev", self.bridge, "root", "tbf", "rate", rate, "burst", "64kb",
                "latency", "200ms", netns=self.inet)

    def block(self, i: int, address: str, on: bool = True) -> None:
        """Make home `i`'s router drop everything from `address` (a cut on one path only)."""
        router = self.routers[i]
        if on:
            run("nft", "-f", "-", netns=router, stdin=f"""
table inet p2pchat_block {{
  chain prerouting {{
    type filter hook prerouting priority -300; policy accept;
    ip saddr {address} drop
  }}
}}
""")
        else:
            run("nft", "delete", "table", "inet", "p2pchat_block", netns=router, check=False)

    def connections_to_relay(self) -> list[str]:
        """The TCP connections the relay holds now, by the address they come from."""
        listing = run("ss", "-Htn", "state", "established", f"( sport = :{RELAY_PORT} )", netns=self.inet).stdout
        return [line.split()[-1] for line in listing.splitlines() if line.strip()]

    def reachable(self, netns: str, address: str, port: int) -> bool:
        """True if a TCP connection from `netns` to address:port is answered within 2 s."""
        probe = (f"import socket; socket.create_connection(({address!r}, {port}), 2).close()")
        return run(sys.executable, "-c", probe, netns=netns, check=False).returncode == 0

    def silent_server(self, port: int) -> subprocess.Popen:
        """A TCP server on the internet that accepts and never says a word."""
        code = (f"import socket, time; s = socket.create_server(({RELAY_ADDRESS!r}, {port})); "
                "print('ready', flush=True); held = []\nwhile True: held.append(s.accept())")
        server = subprocess.Popen(["ip", "netns", "exec", self.inet, sys.executable, "-c", code],
                                  stdout=subprocess.PIPE, text=True)
        server.stdout.readline()
        return server

    def destroy(self) -> None:
        self.relay.stop()
        for name in reversed(self._namespaces):
            run("ip", "netns", "del", name, check=False)
