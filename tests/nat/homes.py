"""More homes for the NAT lab: one whose router runs the real miniupnpd (UPnP IGD and NAT-PMP,
nftables backend), and one with several machines on a bridged LAN (for mDNS discovery).

    home 3: router 203.0.113.13 running miniupnpd  --  198.51.100.128/26, machine .130
    home 4: router 203.0.113.14 (no UPnP)           --  198.51.100.192/26 bridge, machines .194...

miniupnpd refuses to map ports while its WAN address is a reserved one (the lab's are RFC 5737
documentation addresses) unless a STUN server tells it that address is really its own: a tiny
one runs on the lab's internet. Debian's nft_init.sh is not usable as shipped, so the router's
table and the chains miniupnpd fills are created here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import INTERNET, RELAY_ADDRESS, NatLab, router_rules, run

STUN_PORT = 3478
UPNP_HOME = 3
LAN_HOME = 4
LANS = {UPNP_HOME: ("198.51.100.129", 26), LAN_HOME: ("198.51.100.193", 26)}


MINIUPNPD = shutil.which("miniupnpd") or shutil.which("miniupnpd", path="/usr/sbin:/sbin")


def upnp_why_not() -> str | None:
    if MINIUPNPD is None:
        return "the UPnP router needs miniupnpd (Debian package miniupnpd-nftables)"
    return None


def _upnp_rules(wan: str, lan: str) -> str:
    return f"""
table inet p2pchat_upnp {{
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "{lan}" oifname "{wan}" accept
    jump miniupnpd
  }}
  chain miniupnpd {{
  }}
  chain prerouting {{
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    oifname "{wan}" masquerade
    jump postrouting_miniupnpd
  }}
  chain prerouting_miniupnpd {{
  }}
  chain postrouting_miniupnpd {{
  }}
}}
"""


def _miniupnpd_config(wan: str, lan: str, subnet: str) -> str:
    return f"""ext_ifname={wan}
listening_ip={lan}
http_port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=no
system_uptime=yes
ext_perform_stun=yes
ext_stun_host={RELAY_ADDRESS}
ext_stun_port={STUN_PORT}
upnp_table_name=p2pchat_upnp
upnp_nat_table_name=p2pchat_upnp
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=3b2f6c1e-0000-4000-8000-000000000003
allow 1024-65535 {subnet} 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
"""


class Home:
    """A router (WAN on the lab's internet) with a bridged LAN of `machines` namespaces."""

    def __init__(self, lab: NatLab, index: int, machines: int, upnp: bool) -> None:
        self.lab, self.index, self.upnp = lab, index, upnp
        tag = lab.tag
        self.router = f"p2pc-nat-r{index}-{tag}"
        self.machines = [f"p2pc-nat-h{index}{chr(97 + n)}-{tag}" for n in range(machines)]
        self.wan, self.lan = f"nw{index}{tag}", f"nb{index}{tag}"
        self.gateway, prefix = LANS[index]
        base = int(self.gateway.rsplit(".", 1)[1])
        self.addresses = [f"198.51.100.{base + 1 + n}" for n in range(machines)]
        self.prefix = prefix
        self.subnet = f"198.51.100.{base - 1}/{prefix}"
        self.public_address = f"{INTERNET}.1{index}"
        self.daemon: subprocess.Popen | None = None
        self._files = Path(tempfile.mkdtemp(prefix=f"p2pc-nat-upnp-{tag}-"))

    def create(self) -> Home:
        lab = self.lab
        lab._netns(self.router)
        lab._to_internet(self.router, self.wan, self.public_address)
        run("ip", "link", "add", self.lan, "type", "bridge", netns=self.router)
        run("ip", "addr", "add", f"{self.gateway}/{self.prefix}", "dev", self.lan, netns=self.router)
        run("ip", "link", "set", self.lan, "up", netns=self.router)
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=self.router)
        rules = _upnp_rules(self.wan, self.lan) if self.upnp else router_rules(self.wan, self.lan, self.subnet)
        run("nft", "-f", "-", netns=self.router, stdin=rules)
        for n, (machine, address) in enumerate(zip(self.machines, self.addresses, strict=True)):
            lab._netns(machine)
            port, inside = f"nq{self.index}{n}{lab.tag}", f"ni{self.index}{n}{lab.tag}"
            run("ip", "link", "add", inside, "netns", machine, "type", "veth", "peer", "name", port,
                "netns", self.router)
            run("ip", "link", "set", port, "master", self.lan, "up", netns=self.router)
            run("ip", "addr", "add", f"{address}/{self.prefix}", "dev", inside, netns=machine)
            run("ip", "link", "set", inside, "up", netns=machine)
            run("ip", "route", "add", "default", "via", self.gateway, netns=machine)
        if self.upnp:
            self._start_miniupnpd()
        return self

    def _start_miniupnpd(self, timeout: float = 20.0) -> None:
        config = self._files / "miniupnpd.conf"
        config.write_text(_miniupnpd_config(self.wan, self.lan, self.subnet))
        log = self._files / "miniupnpd.log"
        with open(log, "wb") as output:
            self.daemon = subprocess.Popen(
                ["ip", "netns", "exec", self.router, MINIUPNPD, "-d", "-f", str(config),
                 "-P", str(self._files / "miniupnpd.pid")], stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while "Listening for NAT-PMP" not in log.read_text(errors="replace"):
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"miniupnpd did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def forwarded_ports(self) -> str:
        """The DNAT rules miniupnpd holds now (one per mapping)."""
        return run("nft", "list", "chain", "inet", "p2pchat_upnp", "prerouting_miniupnpd",
                   netns=self.router).stdout

    def destroy(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(5)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(5)
        shutil.rmtree(self._files, ignore_errors=True)


class StunServer:
    def __init__(self, lab: NatLab, port: int = STUN_PORT, delay: float = 0.0) -> None:
        script = Path(__file__).with_name("stun_server.py")
        self.address = f"{RELAY_ADDRESS}:{port}"
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", lab.inet, sys.executable, str(script), RELAY_ADDRESS, str(port), str(delay)],
            stdout=subprocess.PIPE, text=True)
        self.process.stdout.readline()  # "ready"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)
