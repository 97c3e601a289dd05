"""A delaying, dropping router hop on a TUN device (the kernel here has no
netem), and the namespaces around it.

As a program, inside the middle namespace:

  python3 tunhop.py IFACE DELAY_MS SECS [DROP_EVERY]

attaches to the persistent TUN device IFACE (created by the test with
`ip tuntap add`), prints "ready", and writes every packet it reads back
to IFACE DELAY_MS later, in order. With DROP_EVERY=N every N-th ICMP or
ICMPv6 echo request is dropped instead. It stops after SECS and prints
"forwarded=F dropped=D". The routing that sends traffic through the hop
and back out is the test's (Hop below): packets that arrive from the
veths are routed into the TUN device by source interface; what the hop
writes back arrives on the TUN device and takes the main table.

As a module: Hop builds prober ns A -- middle ns M (the hop) -- target
ns B, IPv4 and IPv6, and deletes them on exit.
"""

import collections
import fcntl
import os
import select
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454ca
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def is_echo_request(pkt):
    if not pkt:
        return False
    v = pkt[0] >> 4
    if v == 4 and len(pkt) >= 20:
        ihl = (pkt[0] & 15) * 4
        return pkt[9] == 1 and len(pkt) > ihl and pkt[ihl] == 8
    if v == 6 and len(pkt) >= 41:
        return pkt[6] == 58 and pkt[40] == 128
    return False


def hop(iface, delay_ms, secs, drop_every):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", iface.encode(),
                                           IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    print("ready", flush=True)
    delay = delay_ms / 1000.0
    q = collections.deque()
    end = time.monotonic() + secs
    fwd = dropped = echoes = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while q and q[0][0] <= now:
            try:
                os.write(fd, q.popleft()[1])
                fwd += 1
            except OSError:
                pass
        wait = end - now
        if q:
            wait = min(wait, max(0.0, q[0][0] - now))
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            continue
        t = time.monotonic()
        for _ in range(256):
            try:
                pkt = os.read(fd, 65536)
            except BlockingIOError:
                break
            if drop_every and is_echo_request(pkt):
                echoes += 1
                if echoes % drop_every == 0:
                    dropped += 1
                    continue
            q.append((t + delay, pkt))
    print("forwarded=%d dropped=%d" % (fwd, dropped), flush=True)


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
        from kltest import _started
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
            ["ip", "netns", "exec", m, sys.executable, __file__, "hop0",
             str(delay_ms), str(secs), str(drop_every)],
            stdout=subprocess.PIPE, text=True)
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


if __name__ == "__main__":
    hop(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]),
        int(sys.argv[4]) if len(sys.argv) > 4 else 0)
