"""Network namespaces for labs: the NAT lab (tests/nat/lab.py) and the emulated path of the
fault suite (tests/fault/netns_link.py) both build theirs with this, and remove them with it.

Only ever addresses from RFC 5737 documentation ranges, only inside namespaces made here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time


class NetnsUnavailable(Exception):
    """This machine cannot build namespaces; the message says what is missing."""


def why_not(*tools: str) -> str | None:
    """Why namespaces (and `tools`, besides `ip`) cannot be used here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in ("ip", *tools) if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian packages iproute2, nftables, iptables)"
    return None


def run(*command: str, netns: str | None = None, stdin: str | None = None, check: bool = True,
        timeout: float = 15) -> subprocess.CompletedProcess:
    """Run `command` (inside `netns` if given); with `check`, a failure raises RuntimeError
    carrying the command's own error message."""
    if netns is not None:
        command = ("ip", "netns", "exec", netns, *command)
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done


class Namespaces:
    """The namespaces of one lab, deleted together (with their devices, rules and qdiscs)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> str:
        """A new namespace with its loopback up. The first one failing raises NetnsUnavailable."""
        try:
            run("ip", "netns", "add", name)
        except RuntimeError as exc:
            if not self.names:
                raise NetnsUnavailable(f"cannot create network namespaces here: {exc}") from exc
            raise
        self.names.append(name)
        run("ip", "link", "set", "lo", "up", netns=name)
        return name

    def veth(self, netns: str, device: str, peer_netns: str, peer_device: str) -> None:
        """A veth pair: `device` in `netns`, `peer_device` in `peer_netns`, both still down."""
        run("ip", "link", "add", device, "netns", netns, "type", "veth",
            "peer", "name", peer_device, "netns", peer_netns)

    def address(self, netns: str, device: str, cidr: str) -> None:
        """Put `cidr` (address/prefix) on `device` and bring it up."""
        run("ip", "addr", "add", cidr, "dev", device, netns=netns)
        run("ip", "link", "set", device, "up", netns=netns)

    def bridge(self, netns: str, name: str, cidr: str | None = None) -> None:
        run("ip", "link", "add", name, "type", "bridge", netns=netns)
        if cidr:
            run("ip", "addr", "add", cidr, "dev", name, netns=netns)
        run("ip", "link", "set", name, "up", netns=netns)

    def attach(self, netns: str, device: str, bridge: str) -> None:
        """Make `device` a port of `bridge` and bring it up."""
        run("ip", "link", "set", device, "master", bridge, "up", netns=netns)

    def router(self, netns: str) -> None:
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=netns)

    def default_route(self, netns: str, via: str) -> None:
        run("ip", "route", "replace", "default", "via", via, netns=netns)

    def wait_for_carrier(self, netns: str, timeout: float = 5) -> None:
        """A new veth reports its carrier up to a second late; packets sent before are lost."""
        deadline = time.monotonic() + timeout
        while "NO-CARRIER" in run("ip", "-br", "link", netns=netns).stdout:
            if time.monotonic() > deadline:
                raise NetnsUnavailable("the veth pairs never came up")
            time.sleep(0.05)

    def remove(self) -> None:
        for name in reversed(self.names):
            run("ip", "netns", "del", name, check=False)
        self.names.clear()
