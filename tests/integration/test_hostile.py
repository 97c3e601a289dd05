"""Hostile and broken peers: what a trunk endpoint facing the Internet
must survive. Each test drives the built keepline against real peers
(sipp, raw sockets) and checks what a user would see: the message on the
wire, the daemon still answering, the exit status.

No DNS on the one thread (docs/operator-guide.md, "No DNS"):

  ns ph (10.77.0.2)  sipp callers naming hosts that cannot be resolved
  ns gw (10.77.0.1)  keepline, whose resolv.conf names a nameserver that
                     never answers (10.77.0.99: nobody has that address)
                     or one it has no route to (192.0.2.53)

Dialog integrity: a caller in ns ph (10.77.0.2, the trunk) and a
spoofer in ns sp (10.77.0.3, in no trunk) who knows the dialog's
Call-ID and tags, both speaking raw SIP through nettools.NsUdp.
"""

import os
import re
import resource
import shutil
import socket
import threading
import time

import kltest
from kltest import (TAP, Daemon, Skip, check, rss_kb, rss_settles,
                    wait_for)
from nettools import Lan, NsUdp
from sippkit import Sipp

t = TAP()


def need_root():
    kltest.need_root("network namespaces need root")
    if not shutil.which("ip"):
        raise Skip("network namespaces need iproute2")


class Responsive:
    """Asks the daemon for its status every 50 ms, in a thread, and keeps
    the slowest answer: the one thread must never be stuck."""

    def __init__(self, d):
        self.d, self.worst, self.errors, self.n = d, 0.0, [], 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                self.d.request({"cmd": "status"}, timeout=5)
            except Exception as e:   # noqa: BLE001 - reported by check
                self.errors.append(repr(e))
            self.worst = max(self.worst, time.monotonic() - t0)
            self.n += 1
            self._stop.wait(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(timeout=10)


def gateway(lan, nameserver):
    lan["gw"].resolver(nameserver)
    return Daemon("""\
sip:
  listen: ["udp:%s:5060"]
trunks:
  - name: lab
    addresses: [10.77.0.0/24]
routes:
  - {match: "*", action: echo}
media:
  rtp_ports: 30100-30199
""" % Lan.GW, wrap=lan["gw"].wrap([]))


def no_dns(nameserver):
    with Lan(["ph"]) as lan, gateway(lan, nameserver) as d, \
            Responsive(d) as probe:
        ph = lan["ph"]
        target = "%s:5060" % Lan.GW
        # a Via maddr naming a host: the response would be sent there
        opt = Sipp("uac_options_maddr.xml", target, local_ip=ph.ip,
                   netns=ph).start()
        # Contact and Record-Route naming hosts; no answer in the ACK,
        # so the gateway BYEs at once
        bye = Sipp("uac_dns_names_bye.xml", target, local_ip=ph.ip,
                   netns=ph).start()
        # an answered call naming a host, ended by the shutdown
        held = Sipp("uac_dns_names_wait_bye.xml", target, local_ip=ph.ip,
                    netns=ph).start()
        check(opt.wait(20) == 0, "OPTIONS sent", opt.report())
        check(bye.wait(20) == 0, "BYE at the caller's source address",
              bye.report(), d.logs()[-3000:])
        wait_for(lambda: len(d.calls()) == 1, 10, "the held call up",
                 d.logs)
        probe.__exit__()
        rc, took = d.stop()
        check(rc == 0 and took < 5, "SIGTERM: exit %d after %.1f s" %
              (rc, took), d.logs()[-3000:])
        check(held.wait(20) == 0, "shutdown BYE reached the caller",
              held.report())
        logs = d.logs()
        check("no DNS query is ever made" in logs, "dns_off logged", logs)
        check(not probe.errors and probe.n > 20 and probe.worst < 0.2,
              "status answered in %.0f ms at worst (%d asked, errors %s)"
              % (probe.worst * 1000, probe.n, probe.errors[:3]))
        print("# %s: status worst %.0f ms over %d requests" %
              (nameserver, probe.worst * 1000, probe.n))


@t.test
def nameserver_that_never_answers_stalls_nothing():
    need_root()
    no_dns("10.77.0.99")


@t.test
def nameserver_without_route_stalls_nothing():
    need_root()
    no_dns("192.0.2.53")


class LoUdp:
    """NsUdp's interface over a plain socket on loopback."""

    def __init__(self, ip):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, 0))
        self.port = self.s.getsockname()[1]

    def sendto(self, text, to):
        host, port = to.rsplit(":", 1)
        self.s.sendto(text.encode(), (host, int(port)))

    def recv(self, timeout):
        self.s.settimeout(max(timeout, 0.001))
        try:
            data, src = self.s.recvfrom(65535)
        except socket.timeout:
            return None
        return data.decode(errors="replace"), "%s:%d" % src

    def close(self):
        self.s.close()


class Peer:
    """Raw SIP from a namespace (or, ns None, from loopback), for
    requests sipp cannot forge."""

    def __init__(self, ns, ip, port=5062, gw=None):
        self.ip = ip
        if ns:
            self.port = port
            self.io = NsUdp(ns, "%s:%d" % (ip, port))
        else:
            self.io = LoUdp(ip)
            self.port = self.io.port
        self.gw = gw or "%s:5060" % Lan.GW

    def send(self, method, d, cseq, to_tag="", branch=None, via=None,
             body="", user="echo", from_user="a", media_type=None):
        """A request in dialog d (call_id, from_tag), as this peer."""
        via = via or "SIP/2.0/UDP %s:%d;branch=z9hG4bK%s" % (
            self.ip, self.port, branch or "%s%d" % (method.lower(), cseq))
        self.io.sendto(
            "%s sip:%s@%s SIP/2.0\r\nVia: %s\r\n"
            "From: <sip:%s@%s>;tag=%s\r\nTo: <sip:%s@%s>%s\r\n"
            "Call-ID: %s\r\nCSeq: %d %s\r\n"
            "Contact: <sip:a@%s:%d>\r\nMax-Forwards: 70\r\n%s"
            "Content-Length: %d\r\n\r\n%s" % (
                method, user, self.gw, via, from_user, d["ip"],
                d["from_tag"], user,
                self.gw, ";tag=" + to_tag if to_tag else "", d["call_id"],
                cseq, method, self.ip, self.port,
                "Content-Type: application/sdp\r\n" if body else "",
                len(body), body), self.gw)
        return via

    def request(self, method, timeout=5):
        """The next request of method the gateway sends us, answered 200."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self.io.recv(end - time.monotonic())
            if not m:
                break
            if m[0].startswith(method + " "):
                hdrs = [l for l in m[0].split("\r\n")
                        if re.match(r"(?i)(via|from|to|call-id|cseq):", l)]
                self.io.sendto("SIP/2.0 200 OK\r\n%s\r\n"
                               "Content-Length: 0\r\n\r\n"
                               % "\r\n".join(hdrs), m[1])
                return m[0]
        return ""

    def final(self, method, timeout=5):
        """The next final response to method (others are skipped)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self.io.recv(end - time.monotonic())
            if not m:
                break
            text = m[0]
            if re.match(r"SIP/2.0 [2-6]\d\d ", text) and \
                    re.search(r"(?mi)^CSeq: *\d+ %s" % method, text):
                return text
        return ""

    def close(self):
        self.io.close()


def sdp(ip, port):
    v = "6" if ":" in ip else "4"
    return ("v=0\r\no=t 1 1 IN IP%s %s\r\ns=-\r\nc=IN IP%s %s\r\n"
            "t=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            % (v, ip, v, ip, port))


def dialog_gateway(lan, callee_port=9):
    return Daemon("""\
sip:
  listen: ["udp:%s:5060", "udp:127.0.0.1:5060"]
trunks:
  - name: carrier
    addresses: [10.77.0.2]
  - name: lab
    addresses: [127.0.0.1]
    outbound_uri: sip:127.0.0.1:%d
routes:
  - {match: "+44*", action: bridge, target: "sip:uas@127.0.0.1:%d",
     trunk: lab}
  - {match: "*", action: echo}
media:
  rtp_ports: 30200-30299
""" % (Lan.GW, callee_port, callee_port), wrap=lan["gw"].wrap([]))


def status_of(text):
    return int(text.split(" ", 2)[1]) if text else None


@t.test
def spoofed_in_dialog_requests_are_refused():
    """A BYE without a To tag is in no dialog (RFC 3261 §12.2.2): 481,
    whoever sends it. BYE and re-INVITE with the right tags from outside
    the trunk: 403, logged with the source; the call goes on."""
    need_root()
    with Lan(["ph", "sp"]) as lan, dialog_gateway(lan) as d:
        caller, spoof = Peer(lan["ph"], "10.77.0.2"), \
            Peer(lan["sp"], "10.77.0.3")
        try:
            dlg = {"call_id": "dialog-1@10.77.0.2", "from_tag": "a1",
                   "ip": "10.77.0.2"}
            caller.send("INVITE", dlg, 1, body=sdp("10.77.0.2", 40000))
            ok = caller.final("INVITE")
            check(status_of(ok) == 200, "call answered", ok, d.logs())
            tag = re.search(r"(?mi)^To:.*;tag=([^;\s]+)", ok).group(1)
            caller.send("ACK", dlg, 1, to_tag=tag)

            for cseq, who in ((2, spoof), (3, caller)):
                who.send("BYE", dlg, cseq)
                r = who.final("BYE")
                check(status_of(r) == 481, "BYE without To tag from %s: "
                      "481" % who.ip, r, d.logs())
            spoof.send("BYE", dlg, 4, to_tag=tag)
            r = spoof.final("BYE")
            check(status_of(r) == 403, "BYE from outside the trunk: 403",
                  r, d.logs())
            spoof.send("INVITE", dlg, 5, to_tag=tag,
                       body=sdp("10.77.0.3", 41000))
            r = spoof.final("INVITE")
            check(status_of(r) == 403, "re-INVITE from outside: 403", r)
            calls = d.calls()
            check(len(calls) == 1 and calls[0]["legs"][0]["media"]
                  ["remote_sdp"] == "10.77.0.2:40000",
                  "call up, media where the caller put it", calls)
            logs = d.logs()
            for m in ("BYE", "INVITE"):
                check("%s from 10.77.0.3:5062 refused: not the caller's "
                      "trunk" % m in logs, "logged: " + m, logs)

            caller.send("BYE", dlg, 6, to_tag=tag)
            check(status_of(caller.final("BYE")) == 200, "the caller's "
                  "own BYE", d.logs())
            wait_for(lambda: not d.calls(), 5, "call gone")
        finally:
            caller.close()
            spoof.close()


@t.test
def spoofed_cancel_cancels_nothing():
    """A CANCEL copying the ringing INVITE's Via matches its transaction
    from anywhere: from outside the trunk it cancels nothing. The callee
    rings 2 s and answers 486, and that 486 (not a 487) reaches the
    caller; a CANCEL reaching the callee would fail its scenario."""
    need_root()
    with Lan(["ph", "sp"]) as lan:
        callee = Sipp("uas_ring_then_busy.xml", None, netns=lan["gw"])
        with dialog_gateway(lan, callee.sip_port) as d:
            callee.start()
            caller, spoof = Peer(lan["ph"], "10.77.0.2"), \
                Peer(lan["sp"], "10.77.0.3")
            try:
                dlg = {"call_id": "cancel-1@10.77.0.2", "from_tag": "c1",
                       "ip": "10.77.0.2"}
                via = caller.send("INVITE", dlg, 1, user="+44100",
                                  body=sdp("10.77.0.2", 40000))
                wait_for(lambda: [c for c in d.calls()
                                  if c["state"] == "proceeding"], 5,
                         "ringing", d.logs)
                spoof.send("CANCEL", dlg, 1, via=via, user="+44100")
                r = caller.final("INVITE")
                check(status_of(r) == 486, "the callee's 486 reached the "
                      "caller, uncancelled", r, d.logs())
                caller.send("ACK", dlg, 1, branch="invite1", user="+44100")
                check(callee.wait(20) == 0, "callee saw no CANCEL",
                      callee.report())
                check("CANCEL from 10.77.0.3:5062 refused: not the "
                      "caller's trunk" in d.logs(), "logged", d.logs())
            finally:
                caller.close()
                spoof.close()


@t.test
def session_intervals_stay_in_range():
    """RFC 4028: a re-INVITE raising Session-Expires from 90 to 5,000,000
    gets 200 with max_se (7200), and the leg's expiry moves to match;
    Session-Expires: 0 with Supported: timer gets 422 with Min-SE."""
    with Daemon("""\
trunks:
  - {name: local, addresses: [127.0.0.1]}
routes:
  - {match: "*", action: echo}
media:
  rtp_ports: 30300-30349
""") as d:
        sip = re.search(r"udp:(127.0.0.1:\d+)", open(d.conf).read()).group(1)
        huge = Sipp("uac_timer_huge_reinvite.xml", sip).start()
        # in its pause after the re-INVITE: the timer runs on 7200 s
        st = wait_for(lambda: [c["legs"][0].get("session_timer")
                               for c in d.calls()
                               if c["legs"][0].get("session_timer", {})
                               .get("interval_s") == 7200], 10,
                      "interval 7200 in calls", d.logs)[0]
        check(st["next"] == "expiry" and 7100 < st["next_in_s"] <= 7168,
              "expiry at 7200 - 32 s", st)
        st = d.request({"cmd": "status"})["subsystems"]["session_timer"]
        check(st["running"] and st["dialogs"] == 1 and
              st["refreshes_received"] >= 1 and st["expiries"] == 0,
              "status: the leg with a timer, the refresh it got", st)
        text = d.cli("status").stdout
        check(re.search(r"^  session_timer +enabled +running$", text, re.M)
              and "dialogs=1" in text, "status text", text)
        check(huge.wait(30) == 0, "200 with 7200 to the re-INVITE",
              huge.report(), d.logs()[-2000:])
        zero = Sipp("uac_timer_zero_422.xml", sip)
        check(zero.run(30) == 0, "Session-Expires: 0 gets 422",
              zero.report())


def tcp_flood(port, sources, per_source):
    """per_source idle TCP connections from each source address."""
    socks = []
    for src in sources:
        for _ in range(per_source):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            socks.append(s)
    return socks


def still_open(socks):
    """How many of socks the daemon has not closed."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += s.recv(1) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


@t.test
def idle_tcp_connections_from_outside_the_trunks_are_capped():
    """1,100 idle TCP connections from one address outside every trunk
    (the default fd limit is 1,024): all but 16 are closed, the control
    socket answers in under 200 ms throughout, UDP calls go on, one log
    line says so. Then 20 other sources x 14 with max_connections 200:
    the total is held too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = kltest._free_udp_port()
    with Daemon("""\
sip:
  listen: ["udp:127.0.0.1:%d", "tcp:127.0.0.1:%d"]
  max_connections: 200
trunks:
  - {name: local, addresses: [127.0.0.1]}
routes:
  - {match: "*", action: echo}
media:
  rtp_ports: %s
""" % (port, port, kltest.rtp_ports(50)), wrap=["prlimit", "--nofile=1024:%d" % hard]) as d, \
            Responsive(d) as probe:
        flood = tcp_flood(port, ["127.0.0.2"], 1100)
        try:
            wait_for(lambda: still_open(flood) <= 16, 5,
                     "the per-source cap", d.logs)
            call = Sipp("uac_echo_rtp.xml", "127.0.0.1:%d" % port,
                        duration_ms=500)
            check(call.run(30) == 0, "a UDP call meanwhile", call.report())
            st = d.request({"cmd": "status"})["subsystems"]["sip"]
            check(st["connections_capped"] >= 1084 and
                  st["connections_outside_trunks"] <= 16, "status", st)
        finally:
            for s in flood:
                s.close()
        crowd = tcp_flood(port, ["127.0.3.%d" % i for i in range(1, 21)],
                          14)
        try:
            wait_for(lambda: still_open(crowd) <= 200, 5, "the total cap",
                     d.logs)
            check(still_open(crowd) >= 180, "no more closed than needed",
                  still_open(crowd))
        finally:
            for s in crowd:
                s.close()
        probe.__exit__()
        logs = d.logs()
        lines = logs.count("ev=connections_capped")
        check(1 <= lines <= 3 and "File descriptor limit" in logs,
              "capping logged once per 10 s (%d lines)" % lines, logs[-3000:])
        check(not probe.errors and probe.worst < 0.2,
              "status within %.0f ms at worst" % (probe.worst * 1000),
              probe.errors[:3])
        print("# status worst %.0f ms over %d requests during the flood" %
              (probe.worst * 1000, probe.n))


def udp_bound(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def loopback_gateway(extra=""):
    port = kltest._free_udp_port()
    callee = Sipp("uas_answer_hangup.xml", None, duration_ms=300)
    d = Daemon("""\
sip:
  listen: ["udp:127.0.0.1:%d"]
trunks:
  - {name: local, addresses: [127.0.0.1], outbound_uri: "sip:127.0.0.1:%d"
     %s}
routes:
  - {match: "+44*", action: bridge, target: "sip:uas@127.0.0.1:%d",
     trunk: local}
  - {match: "*", action: echo}
media:
  rtp_ports: %s
  rtp_timeout: 300s   # the held call of the memory test sends no RTP
""" % (port, callee.sip_port, extra, callee.sip_port, kltest.rtp_ports(100)))
    return d, callee, "127.0.0.1:%d" % port


@t.test
def sloppy_peers_get_clear_answers():
    """A 200-character From user is bridged (a fixed buffer gave 500); an
    IPv6 c= on an IPv4 leg gets 488 with Warning 300 (it got 200); a
    CANCEL that matches no INVITE gets 481 (it got 405)."""
    d, callee, gw = loopback_gateway()
    with d:
        callee.start()
        wait_for(lambda: udp_bound(callee.sip_port), 5, "callee listens")
        p = Peer(None, "127.0.0.1", gw=gw)
        try:
            long = "u" * 200
            dlg = {"call_id": "long-1@127.0.0.1", "from_tag": "l1",
                   "ip": "127.0.0.1"}
            p.send("INVITE", dlg, 1, user="+44100", from_user=long,
                   body=sdp("127.0.0.1", 40000))
            r = p.final("INVITE", 10)
            check(status_of(r) == 200, "long From bridged", r, d.logs())
            tag = re.search(r"(?mi)^To:.*;tag=([^;\s]+)", r).group(1)
            p.send("ACK", dlg, 1, to_tag=tag, user="+44100")
            check(callee.wait(20) == 0, "callee answered", callee.report())
            check("From: <sip:%s@" % long in callee.messages(),
                  "the whole user reached the callee", callee.messages())
            check(p.request("BYE", 10), "the callee's hang-up reached us")

            v6 = {"call_id": "v6-1@127.0.0.1", "from_tag": "v1",
                  "ip": "127.0.0.1"}
            p.send("INVITE", v6, 1, body=sdp("2001:db8::10", 40000))
            r = p.final("INVITE")
            check(status_of(r) == 488 and re.search(
                r"(?mi)^Warning: 300 ", r), "IPv6 c= on IPv4: 488", r)
            check("why=address_family" in d.logs(), "logged", d.logs())

            ok = {"call_id": "echo-1@127.0.0.1", "from_tag": "e1",
                  "ip": "127.0.0.1"}
            p.send("INVITE", ok, 1, body=sdp("127.0.0.1", 40002))
            r = p.final("INVITE")
            tag = re.search(r"(?mi)^To:.*;tag=([^;\s]+)", r).group(1)
            p.send("ACK", ok, 1, to_tag=tag)
            p.send("CANCEL", ok, 2, to_tag=tag, branch="nomatch2")
            r = p.final("CANCEL")
            check(status_of(r) == 481, "CANCEL matching nothing: 481", r)
            p.send("BYE", ok, 3, to_tag=tag)
            check(status_of(p.final("BYE")) == 200, "BYE")
        finally:
            p.close()


@t.test
def a_call_never_acked_frees_its_ports_at_timer_h():
    """200 OK sent, no ACK ever: at Timer H (64 x T1 = 32 s) the call
    ends with BYE and its RTP ports go at once, not after the BYE's own
    32 s (65 s in all before)."""
    d, callee, gw = loopback_gateway()
    with d:
        p = Peer(None, "127.0.0.1", gw=gw)
        try:
            dlg = {"call_id": "noack-1@127.0.0.1", "from_tag": "n1",
                   "ip": "127.0.0.1"}
            p.send("INVITE", dlg, 1, body=sdp("127.0.0.1", 40000))
            check(status_of(p.final("INVITE")) == 200, "answered")
            t0 = time.monotonic()

            def used():
                return d.request({"cmd": "status"})["subsystems"][
                    "media"]["ports_used"]
            check(used() == 2, "ports held while it waits", used())
            wait_for(lambda: used() == 0, 40, "ports freed", d.logs)
            took = time.monotonic() - t0
            check(30 < took < 36, "freed %.1f s after the 200" % took)
            check("reason=ack_timeout" in d.logs(), "ended for no ACK",
                  d.logs())
            print("# ports freed %.1f s after an un-ACKed 200" % took)
        finally:
            p.close()


@t.test
def memory_returns_after_a_burst_while_a_call_stays_up():
    """The heap is trimmed once no new call has come for 40 s, also while
    calls are up (it waited for no call at all)."""
    if os.environ.get("KEEPLINE_ASAN") == "yes":
        raise Skip("a sanitized build's heap is not glibc's")
    d, callee, gw = loopback_gateway()
    with d:
        held = Sipp("uac_hold_wait_bye.xml", gw, service="echo",
                    timeout_s=170)
        held.start()
        wait_for(lambda: d.calls(), 10, "the held call up", d.logs)
        base = rss_kb(d.proc.pid)
        burst = Sipp("sn:uac", gw, calls=3000, duration_ms=0, trace=False,
                     extra=["-r", "1000"])
        check(burst.run(60) == 0, "the burst", burst.report())
        peak = rss_kb(d.proc.pid)
        check(peak > base + 10240, "the burst took memory (%d -> %d kB)"
              % (base, peak))
        now = rss_settles(d.proc.pid, base + 10240, 90)
        calls = d.calls()
        check(now <= base + 10240 and len(calls) == 1,
              "RSS %d kB with the call up (baseline %d, peak %d)"
              % (now, base, peak), calls)
        print("# burst of 3000 with a call up: baseline %d kB, peak %d kB, "
              "after %d kB" % (base, peak, now))


@t.test
def trunk_limits_refuse_with_503_and_retry_after():
    """sipp at 50 calls/s against max_cps 10 (127.0.0.2), and 6 calls at
    once against max_calls 3 (127.0.0.3): the excess gets 503 with
    Retry-After (checked by the scenario), counted per trunk, logged at
    most once per 10 s per trunk."""
    port = kltest._free_udp_port()
    with Daemon("""\
sip:
  listen: ["udp:127.0.0.1:%d"]
trunks:
  - {name: fast, addresses: [127.0.0.2], max_cps: 10}
  - {name: few, addresses: [127.0.0.3], max_calls: 3}
routes:
  - {match: "*", action: echo}
media:
  rtp_ports: %s
""" % (port, kltest.rtp_ports(100))) as d:
        gw = "127.0.0.1:%d" % port
        flood = Sipp("uac_limits.xml", gw, local_ip="127.0.0.2", calls=100,
                     duration_ms=0, extra=["-r", "50"])
        held = Sipp("uac_limits.xml", gw, local_ip="127.0.0.3", calls=6,
                    duration_ms=3000, extra=["-r", "100"])
        flood.start()
        held.start()
        check(flood.wait(60) == 0, "every flood call answered or 503",
              flood.report())
        check(held.wait(60) == 0, "every held call answered or 503",
              held.report())
        st = d.request({"cmd": "status"})["subsystems"]["sip"]["trunks"]
        fast, few = st["fast"], st["few"]
        check(50 <= fast["refused_max_cps"] <= 85 and
              fast["refused_max_calls"] == 0, "max_cps refusals", fast)
        check(few["refused_max_calls"] == 3 and few["refused_max_cps"] == 0,
              "max_calls refusals", few)
        check(fast["calls"] == 0 and few["calls"] == 0, "released", st)
        logs = d.logs()
        check(logs.count("Trunk fast is at its max_cps") == 1 and
              logs.count("Trunk few is at its max_calls") == 1,
              "one line per trunk", logs[-3000:])
        print("# 100 calls at 50/s, max_cps 10: %d refused; 6 held, "
              "max_calls 3: %d refused" % (fast["refused_max_cps"],
                                           few["refused_max_calls"]))


if __name__ == "__main__":
    t.run()
