"""Network namespaces as separate hosts, and the small peers the ICMP tests
run inside them.

As a module: Netns (created and deleted by the test, by name) and Lan (a
gateway namespace with a bridge, and hosts on veths). As a program, run
inside a namespace with `ip netns exec NS python3 nettools.py CMD ...`:

  rtp   BIND_IP:PORT SECS [pause=T:P] [mux]
                                      a phone's RTP: listens at once, and
                                      once RTP arrives sends 50 packets/s
                                      back to where it came from; pause:
                                      after T s it stays silent for P s
                                      (VAD), socket open; mux: an RTCP RR
                                      every 0.2 s on the RTP port too
                                      (RFC 5761); at the end it prints
                                      what it received
  rtcp  BIND_IP:PORT TO_IP:PORT SECS  a peer's RTCP: an RR every 0.2 s to
                                      TO, prints what RTCP it received
  udpio BIND_IP:PORT SECS             a UDP socket for a test process
                                      outside the namespace (NsUdp):
                                      JSON lines on stdin are sent, what
                                      arrives is printed as JSON lines
  drain TO_IP:PORT PPS SECS           UDP to a closed port, to keep that
                                      host's ICMP rate limiter empty
  bye   IFACE COUNT SECS              print "<wall time> <Call-ID>" for each
                                      SIP BYE seen on IFACE (AF_PACKET)
  icmp  SRC DST TYPE CODE QSRC QDST [PAYLOAD_HEX] [COUNT] [GAP_S]
                                      forge ICMP errors quoting a UDP packet
                                      QSRC -> QDST (IP:PORT), raw socket

Every program stops by itself after its time or count.
"""

import json
import os
import queue
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time


def sh(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=20)


class Netns:
    """A namespace named after this test process; delete() always runs."""

    def __init__(self, tag):
        self.name = "kl%d%s" % (os.getpid(), tag)
        sh("ip", "netns", "add", self.name)
        self.run("ip", "link", "set", "lo", "up")

    def resolver(self, nameserver):
        """Programs run in this namespace read this resolv.conf (ip netns
        exec bind-mounts /etc/netns/NAME/resolv.conf over the real one)."""
        d = os.path.join("/etc/netns", self.name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write("nameserver %s\noptions timeout:5 attempts:3\n"
                    % nameserver)

    def run(self, *args, check=True):
        return sh("ip", "netns", "exec", self.name, *args, check=check)

    def wrap(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def delete(self):
        sh("ip", "netns", "del", self.name, check=False)
        shutil.rmtree(os.path.join("/etc/netns", self.name), True)


class Lan:
    """The gateway's namespace with bridge br0 (10.77.0.1/24) and one
    namespace per host on it, each joined by a veth: ICMP errors cross a
    veth, so the hosts' kernels rate-limit them as real ones would."""

    GW = "10.77.0.1"
    GW6 = "fd77::1"

    def __init__(self, hosts, v6=False):
        self.v6 = v6
        self.ns = {}
        try:
            self.gw = self._ns("gw")
            self.gw.run("ip", "link", "add", "br0", "type", "bridge")
            self.gw.run("ip", "addr", "add", self.GW + "/24", "dev", "br0")
            if v6:
                self.gw.run("ip", "addr", "add", self.GW6 + "/64", "dev",
                            "br0", "nodad")
            self.gw.run("ip", "link", "set", "br0", "up")
            for i, name in enumerate(hosts):
                self._host(name, i + 2)
            # spoofed sources must reach the gateway's sockets
            for ns in self.ns.values():
                ns.run("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
                ns.run("sysctl", "-qw", "net.ipv4.conf.default.rp_filter=0")
        except BaseException:
            self.delete()
            raise

    def _ns(self, tag):
        ns = Netns(tag)
        self.ns[tag] = ns
        return ns

    def _host(self, name, n):
        ip = "10.77.0.%d" % n
        ns = self._ns(name)
        a, b = "v%s%d" % (name, os.getpid() % 10000), "eth0"
        sh("ip", "link", "add", a, "netns", self.gw.name, "type", "veth",
           "peer", "name", b, "netns", ns.name)
        self.gw.run("ip", "link", "set", a, "master", "br0", "up")
        ns.run("ip", "addr", "add", ip + "/24", "dev", b)
        if self.v6:   # no duplicate address detection: usable at once
            ns.ip6 = "fd77::%d" % n
            ns.run("ip", "addr", "add", ns.ip6 + "/64", "dev", b, "nodad")
        ns.run("ip", "link", "set", b, "up")
        ns.ip = ip

    def __getitem__(self, name):
        return self.ns[name]

    def delete(self):
        for ns in self.ns.values():
            ns.delete()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.delete()


class NsUdp:
    """A UDP socket bound inside namespace ns, used from this process:
    the program udpio runs there and relays both ways over pipes."""

    def __init__(self, ns, bind, secs=120):
        self.proc = subprocess.Popen(
            ns.wrap(["python3", os.path.abspath(__file__), "udpio", bind,
                     str(secs)]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.queue = queue.Queue()
        if self.proc.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("udpio did not start in " + ns.name)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.queue.put(json.loads(line))

    def sendto(self, text, to):
        self.proc.stdin.write(json.dumps({"to": to, "data": text}) + "\n")
        self.proc.stdin.flush()

    def recv(self, timeout):
        """(text, "ip:port") of the next datagram, or None."""
        try:
            m = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return m["data"], m["from"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)


# --- programs run inside a namespace ---------------------------------------

def hostport(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def is_rtcp(pkt):
    # RFC 5761 §4: RTCP packet types 192-223 on a shared port
    return len(pkt) >= 8 and pkt[0] >> 6 == 2 and 192 <= pkt[1] <= 223


def receiver_report(ssrc):
    # RFC 3550 §6.4.2: an RR with no report blocks
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def rtp(bind, secs, *opts):
    s = socket.socket(socket.AF_INET6 if bind.startswith("[")
                      else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(hostport(bind))
    s.settimeout(0.02)
    print("ready", flush=True)
    talk, pause = 1e9, 0.0
    for o in opts:
        if o.startswith("pause="):
            talk, pause = (float(x) for x in o[6:].split(":"))
    mux = "mux" in opts
    ssrc = os.getpid() & 0xffffffff
    end = time.monotonic() + float(secs)
    seq, to, first, next_rr = 0, None, None, 0.0
    got = {"rtp": 0, "rtcp": 0, "rtp_after_pause": 0}
    while time.monotonic() < end:
        now = time.monotonic()
        resumed = first is not None and now >= first + talk + pause
        try:
            while True:
                pkt, src = s.recvfrom(2048)
                to = to or src     # symmetric RTP: answer where it comes from
                first = first if first is not None else now
                kind = "rtcp" if is_rtcp(pkt) else "rtp"
                got[kind] += 1
                if kind == "rtp" and resumed:
                    got["rtp_after_pause"] += 1
                s.settimeout(0)
        except (BlockingIOError, socket.timeout):
            pass
        silent = first is not None and first + talk <= now < \
            first + talk + pause
        if to and not silent:
            s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xffff, seq * 160,
                                 ssrc) + b"\xff" * 160, to)
            seq += 1
            if mux and now >= next_rr:
                s.sendto(receiver_report(ssrc), to)
                next_rr = now + 0.2
        if to:
            time.sleep(0.02)
        s.settimeout(0.02 if not to else 0)
    print(" ".join("%s=%d" % kv for kv in sorted(got.items())), flush=True)


def rtcp(bind, to, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(hostport(bind))
    print("ready", flush=True)
    end = time.monotonic() + float(secs)
    got, bad = 0, 0
    while time.monotonic() < end:
        try:
            s.sendto(receiver_report(os.getpid()), hostport(to))
        except OSError:
            pass    # the port-unreachable of an earlier one
        rr = time.monotonic() + 0.2
        while time.monotonic() < rr:
            s.settimeout(max(0.001, rr - time.monotonic()))
            try:
                pkt = s.recv(2048)
            except (socket.timeout, OSError):
                continue
            if is_rtcp(pkt):
                got += 1
            else:
                bad += 1
    print("rtcp=%d other=%d" % (got, bad), flush=True)


def udpio(bind, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(hostport(bind))
    print("ready", flush=True)
    end = time.monotonic() + float(secs)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    sel.register(sys.stdin, selectors.EVENT_READ)
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            if key.fileobj is s:
                data, src = s.recvfrom(65535)
                print(json.dumps({"from": "%s:%d" % src,
                                  "data": data.decode(errors="replace")}),
                      flush=True)
                continue
            line = sys.stdin.readline()
            if not line:
                return     # the test closed the pipe
            m = json.loads(line)
            s.sendto(m["data"].encode(), hostport(m["to"]))


def drain(to, pps, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + float(secs)
    while time.monotonic() < end:
        try:
            s.sendto(b"drain", hostport(to))
        except OSError:
            pass    # the ICMP error we provoke, reported on the next send
        time.sleep(1.0 / float(pps))


def bye(iface, count, secs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    s.bind((iface, 0))
    s.settimeout(0.2)
    print("ready", flush=True)
    end = time.monotonic() + float(secs)
    seen = 0
    while seen < int(count) and time.monotonic() < end:
        try:
            pkt = s.recv(65535)
        except socket.timeout:
            continue
        now = time.time()
        if len(pkt) < 28 or pkt[9] != socket.IPPROTO_UDP:
            continue
        ihl = (pkt[0] & 15) * 4
        body = pkt[ihl + 8:]
        if body.startswith(b"BYE "):
            cid = [l for l in body.split(b"\r\n")
                   if l.lower().startswith(b"call-id:")]
            print("%.6f %s" % (now, cid[0][8:].strip().decode()
                               if cid else "?"), flush=True)
            seen += 1


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def icmp(src, dst, itype, code, qsrc, qdst, payload_hex="", count="1",
         gap="0.002"):
    """ICMP error from src to dst quoting a UDP datagram qsrc -> qdst."""
    payload = bytes.fromhex(payload_hex)
    (qs, qsp), (qd, qdp) = hostport(qsrc), hostport(qdst)
    udp = struct.pack("!HHHH", qsp, qdp, 8 + 160, 0) + payload
    inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 160, 0, 0x4000,
                        64, socket.IPPROTO_UDP, 0, socket.inet_aton(qs),
                        socket.inet_aton(qd))
    inner = inner[:10] + struct.pack("!H", checksum(inner)) + inner[12:]
    rest = struct.pack("!HH", 0, 1280 if int(code) == 4 else 0)
    body = inner + udp
    msg = struct.pack("!BBH", int(itype), int(code), 0) + rest + body
    msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    outer = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(msg), 0, 0, 64,
                        socket.IPPROTO_ICMP, 0, socket.inet_aton(src),
                        socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for _ in range(int(count)):
        s.sendto(outer + msg, (dst, 0))
        if float(gap):
            time.sleep(float(gap))


if __name__ == "__main__":
    {"rtp": rtp, "rtcp": rtcp, "drain": drain, "icmp": icmp,
     "bye": bye, "udpio": udpio}[sys.argv[1]](
        *sys.argv[2:])
