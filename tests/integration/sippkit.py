"""sipp as a real peer, and a packet capture on loopback to see RTP on the
wire (sipp counts RTP it sends, not RTP it receives).

Every sipp is started by PID and killed if it outlives its time limit; the
capture thread stops with its context.
"""

import os
import random
import re
import socket
import struct
import subprocess
import threading
import time

from kltest import SRCDIR, Scratch, _started

SCENARIOS = os.path.join(SRCDIR, "sipp-scenarios")


def free_port(kind=socket.SOCK_DGRAM, even=False):
    """A port nothing listens on now (the kernel's pick)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not even or port % 2 == 0:
            return port
    raise RuntimeError("no free port")


_next_quiet = []


def quiet_port(span=1, even=False):
    """The first of span UDP ports that are free now (on every address),
    below the kernel's ephemeral range (32768-60999 here) and the test
    gateways' RTP ranges (kltest.rtp_ports(): 20000-32159): the kernel never hands these
    out to another socket between this check and sipp's bind, as it can an
    ephemeral one. A process takes them in turn from a random start, so
    its own sipps never overlap (sipp binds media_port + 1..3 as well)."""
    if not _next_quiet:
        _next_quiet.append(random.SystemRandom().randrange(10000, 19000))
    for _ in range(2000):
        port = _next_quiet[0] + (even and _next_quiet[0] % 2)
        if port + span > 20000:
            port = 10000
        _next_quiet[0] = port + span
        socks = []
        try:
            for p in range(port, port + span):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("", p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no %d free ports below 20000" % span)


class Sipp:
    """One sipp run of a scenario from sipp-scenarios/."""

    def __init__(self, scenario, target, service="echo", local_ip="127.0.0.1",
                 duration_ms=1000, calls=1, extra=(), trace=True, netns=None,
                 timeout_s=60):
        self.dir = Scratch()
        # rtp_stream plays this file: 8000 samples/s of mu-law, looped
        with open(os.path.join(self.dir.path, "keepline-tone.ulaw"),
                  "wb") as f:
            f.write(bytes([0xFF, 0x7F]) * 4000)
        self.sip_port = quiet_port()
        self.media_port = quiet_port(span=4, even=True)
        # target None: a callee (sipp as UAS) on local_ip:sip_port;
        # "sn:NAME": one of sipp's built-in scenarios
        where = [target, "-s", service] if target else []
        sf = (["-sn", scenario[3:]] if scenario.startswith("sn:") else
              ["-sf", os.path.join(SCENARIOS, scenario)])
        wrap = netns.wrap([]) if netns else []
        self.args = wrap + ["sipp"] + sf + where + [
            "-i", local_ip, "-p", str(self.sip_port),
            "-mi", local_ip, "-mp", str(self.media_port),
            "-m", str(calls), "-l", str(calls), "-d", str(duration_ms),
            "-nostdin", "-timeout", str(timeout_s), "-timeout_error",
            "-trace_err",
        ] + ([] if trace is False else ["-trace_msg"]) + list(extra)
        self.proc = None

    def start(self):
        self.out = open(os.path.join(self.dir.path, "sipp.out"), "w")
        self.proc = subprocess.Popen(self.args, cwd=self.dir.path,
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT)
        _started.append(self.proc)
        return self

    def wait(self, timeout=60):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("sipp still running after %ds" % timeout)
        self.out.close()
        return rc

    def run(self, timeout=60):
        self.start()
        return self.wait(timeout)

    def messages(self):
        """Everything sipp sent and received (-trace_msg)."""
        text = ""
        for name in os.listdir(self.dir.path):
            if name.endswith("_messages.log") or name.endswith("_errors.log"):
                with open(os.path.join(self.dir.path, name),
                          errors="replace") as f:
                    text += f.read()
        return text

    def report(self):
        with open(os.path.join(self.dir.path, "sipp.out"),
                  errors="replace") as f:
            return f.read()[-3000:] + "\n" + self.messages()[-6000:]


class Capture:
    """Counts UDP datagrams on lo by (source port, destination port).

    Needs root (AF_PACKET). Each datagram on lo is seen twice, as sent
    and as received: only the received copy is counted.
    """

    PACKET_OUTGOING = 4

    def __init__(self):
        self.counts = {}
        self.times = {}
        self._stop = threading.Event()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.ntohs(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == self.PACKET_OUTGOING or len(frame) < 14 + 20 + 8:
                continue
            if struct.unpack("!H", frame[12:14])[0] != 0x0800:
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 17 or len(ip) < ihl + 8:
                continue
            sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
            key = (sport, dport)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.times.setdefault(key, []).append(time.monotonic())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()

    def count(self, sport, dport):
        return self.counts.get((sport, dport), 0)


class RawUac:
    """A bare SIP caller over UDP, for the headers sipp cannot check
    (Contact, the SDP's o=) or a peer it cannot play: one dialog, text
    requests, the socket also taking RTP (its port is the SDP's)."""

    def __init__(self, gateway_port, user, call_id):
        self.gw = ("127.0.0.1", gateway_port)
        self.user, self.call_id = user, call_id
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.to_tag = ""
        self.refused = False   # the last final response was not a 2xx

    def sdp(self):
        return ("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n"
                "a=rtpmap:0 PCMU/8000\r\n" % self.port)

    def send(self, method, cseq, body="", ctype="application/sdp"):
        # the ACK of a refusal is the INVITE transaction's (RFC 3261
        # §17.1.1.3): same branch
        branch = ("invite" if method == "ACK" and self.refused else
                  method.lower())
        self.sock.sendto((
            "%s sip:%s@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d\r\n"
            "From: <sip:a@127.0.0.1>;tag=a1\r\n"
            "To: <sip:%s@127.0.0.1>%s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:a@127.0.0.1:%d>\r\n"
            "Max-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, self.user, self.gw[1], self.port, branch, cseq,
               self.user, self.to_tag, self.call_id, cseq, method, self.port,
               "Content-Type: %s\r\n" % ctype if body else "",
               len(body), body)).encode(), self.gw)

    def final(self):
        """The next final response (RTP arriving meanwhile is skipped);
        its To tag is kept for the next requests (ACK, the dialog's)."""
        while True:
            data = self.sock.recv(65535)
            if not data.startswith(b"SIP/2.0 "):
                continue
            msg = data.decode(errors="replace")
            if msg.startswith("SIP/2.0 1"):
                continue
            m = re.search(r"(?im)^To:.*(;tag=[^;\s]+)", msg)
            self.refused = not msg.startswith("SIP/2.0 2")
            if m:
                self.to_tag = m.group(1)
            return msg

    def close(self):
        self.sock.close()
