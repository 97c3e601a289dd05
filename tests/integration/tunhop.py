"""The namespaces around a TUN delay hop (the kernel here has no netem):

  ns A (10.78.1.1, fd78:1::1) -- ns M (the hop) -- ns B (10.78.2.2,
  fd78:2::2)

Hop builds them, IPv4 and IPv6, runs tests/integration/tunhop (built from
tunhop.c: every packet written back DELAY_MS later, every N-th echo
request dropped) on M's TUN device, and deletes everything on exit. The
routing sends what arrives from the veths into the TUN device by source
interface; what the hop writes back arrives on the TUN device and takes
the main table.
"""

import os
import subprocess
import time

from kltest import KEEPLINE, _started

# the build tree's tests/integration/, beside its bin/
TUNHOP = os.path.join(os.path.dirname(os.path.dirname(KEEPLINE)), "tests",
                      "integration", "tunhop")


def sh(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=20)


class Hop:
    """ns A (10.78.1.1, fd78:1::1) -- ns M -- ns B (10.78.2.2, fd78:2::2);
    every packet from A to B and back crosses M's TUN hop (delay_ms each
    way), unless direct: then M routes without it."""

    A, B = "10.78.1.1", "10.78.2.2"
    A6, B6 = "fd78:1::1", "fd78:2::2"

    def __init__(self, delay_ms=0, drop_every=0, secs=120, direct=False):
        tag = os.getpid() % 100000
        self.names = ["nwa%d" % tag, "nwm%d" % tag, "nwb%d" % tag]
        self.a, self.m, self.b = self.names
        self.proc = None
        try:
            for n in self.names:
                sh("ip", "netns", "add", n)
                self.run(n, "ip", "link", "set", "lo", "up")
                # no duplicate address detection on the links to come:
                # IPv6 neighbours answer at once, not two seconds later
                self.run(n, "sysctl", "-qw",
                         "net.ipv6.conf.default.accept_dad=0")
            self._link(self.a, "eth0", self.m, "va", "10.78.1", "fd78:1")
            self._link(self.b, "eth0", self.m, "vb", "10.78.2", "fd78:2")
            self.run(self.a, "ip", "route", "add", "default", "via",
                     "10.78.1.2")
            self.run(self.a, "ip", "-6", "route", "add", "default", "via",
                     "fd78:1::2")
            self.run(self.b, "ip", "route", "add", "default", "via",
                     "10.78.2.1")
            self.run(self.b, "ip", "-6", "route", "add", "default", "via",
                     "fd78:2::1")
            self._wait_up()
            for k in ("net.ipv4.ip_forward=1",
                      "net.ipv6.conf.all.forwarding=1",
                      "net.ipv4.conf.all.rp_filter=0",
                      "net.ipv4.conf.default.rp_filter=0"):
                self.run(self.m, "sysctl", "-qw", k)
            if not direct:
                self._tun(delay_ms, drop_every, secs, _started)
        except BaseException:
            self.delete()
            raise

    def _link(self, ns, ifname, mid, mname, v4, v6):
        sh("ip", "link", "add", mname, "netns", self.m, "type", "veth",
           "peer", "name", ifname, "netns", ns)
        self.run(ns, "ip", "addr", "add", "%s.%d/24" % (v4, 1 if ns ==
                                                       self.a else 2),
                 "dev", ifname)
        self.run(ns, "ip", "addr", "add", "%s::%d/64" % (v6, 1 if ns ==
                                                        self.a else 2),
                 "dev", ifname, "nodad")
        self.run(mid, "ip", "addr", "add", "%s.%d/24" % (v4, 2 if ns ==
                                                        self.a else 1),
                 "dev", mname)
        self.run(mid, "ip", "addr", "add", "%s::%d/64" % (v6, 2 if ns ==
                                                         self.a else 1),
                 "dev", mname, "nodad")
        self.run(ns, "ip", "link", "set", ifname, "up")
        self.run(mid, "ip", "link", "set", mname, "up")

    def _wait_up(self, secs=5.0):
        """Until the kernel has switched the veths on (linkwatch may take
        a second): before then they drop what they are given, and the
        first neighbour solicitation with it"""
        deadline = time.monotonic() + secs
        ends = [(self.a, "eth0"), (self.b, "eth0"), (self.m, "va"),
                (self.m, "vb")]
        while ends and time.monotonic() < deadline:
            ends = [(ns, i) for ns, i in ends if "state UP" not in
                    self.run(ns, "ip", "-o", "link", "show", "dev",
                             i).stdout]
            if ends:
                time.sleep(0.02)
        if ends:
            raise AssertionError("links not up: %r" % ends)

    def _tun(self, delay_ms, drop_every, secs, started):
        m = self.m
        self.run(m, "ip", "tuntap", "add", "dev", "hop0", "mode", "tun")
        self.run(m, "ip", "link", "set", "hop0", "up")
        self.run(m, "sysctl", "-qw", "net.ipv4.conf.hop0.rp_filter=0")
        for fam in ("-4", "-6"):
            for dev in ("va", "vb"):
                self.run(m, "ip", fam, "rule", "add", "iif", dev, "lookup",
                         "100")
            self.run(m, "ip", fam, "route", "add", "default", "dev", "hop0",
                     "table", "100")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", m, TUNHOP, "hop0", str(delay_ms),
             str(secs), str(drop_every)], stdout=subprocess.PIPE, text=True)
        started.append(self.proc)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise AssertionError("tunhop did not start: %r" % line)

    def run(self, ns, *args, check=True):
        return sh("ip", "netns", "exec", ns, *args, check=check)

    def wrap(self, ns, argv):
        return ["ip", "netns", "exec", ns] + list(argv)

    def delete(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for n in self.names:
            sh("ip", "netns", "del", n, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.delete()

