"""Netwatch: `keepline probe` and the daemon's path health, measured across
network namespaces with a TUN delay hop (tunhop.py) in the middle.

  ns A (10.78.1.1, fd78:1::1)   the prober: keepline probe, or the daemon
  ns M                          routes A <-> B through its TUN hop, which
                                delays every packet and can drop every
                                N-th echo request; black holes live here
  ns B (10.78.2.2, fd78:2::2)   the target's kernel answers

The trunk-failover and live-call tests use the ICMP tests' LAN (nettools):
keepline in ns gw, callees or a phone on veths.
"""

import json
import re
import shutil
import subprocess
import time

import kltest
from icmprig import Rig, log_time
from kltest import (KEEPLINE, TAP, Daemon, Skip, _started, check, stop,
                    wait_for)
from nettools import Lan
from sippkit import Sipp
from tunhop import Hop

t = TAP()
DELAY_MS = 10


def need_root():
    kltest.need_root("network namespaces need root")
    if not shutil.which("ip"):
        raise Skip("network namespaces need iproute2")


def probe(hop, ns, *args, user=None, timeout=60):
    """keepline probe in ns; returns (exit status, stdout, stderr)."""
    argv = [KEEPLINE, "probe"] + list(args)
    if user:
        argv = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user,
                "--clear-groups", "--inh-caps=-all"] + argv
    r = subprocess.run(hop.wrap(ns, argv), capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def probe_json(hop, ns, *args, **kw):
    rc, out, err = probe(hop, ns, "--json", *args, **kw)
    try:
        return rc, json.loads(out), err
    except ValueError:
        raise AssertionError("not JSON (exit %d): %r %s" % (rc, out, err))


@t.test
def rtt_through_a_delay_hop_is_the_delay_within_a_millisecond():
    """10 ms each way: every probe of every method comes back in 20 ms
    and a fraction, never sooner; IPv4 and IPv6. UDP sends 5: the
    target's kernel lets a burst of about 6 port-unreachables through,
    then one a second"""
    need_root()
    want = 2 * DELAY_MS
    with Hop(delay_ms=DELAY_MS) as h:
        for method, n, targets in (("icmp", 10, [h.B, h.B6]),
                                   ("udp", 5, [h.B, h.B6]),
                                   ("tcp", 10, [h.B + ":9",
                                                "[%s]:9" % h.B6])):
            rc, doc, err = probe_json(h, h.a, "-c", str(n), "-i", "50",
                                      "--method", method, *targets)
            check(rc == 0, "%s exit %d" % (method, rc), err, doc)
            for tg in doc["targets"]:
                what = "%s %s" % (method, tg["target"])
                check(tg["method"] == method and tg["received"] == n,
                      what + " answered", tg)
                check(tg["min_ms"] >= want, what + " faster than the hop",
                      tg)
                check(abs(tg["avg_ms"] - want) < 1.0,
                      what + ": avg %.3f ms, the hop makes %d ms" %
                      (tg["avg_ms"], want), tg)
                if method != "tcp":   # a RST has no kernel stamp
                    check(tg["kernel_timestamps"] is True,
                          what + " timed by the kernel", tg)
                answers = {p["answer"] for p in tg["probes"]}
                check(answers == {"icmp": {"echo reply"},
                                  "udp": {"port unreachable"},
                                  "tcp": {"rst"}}[method],
                      what + " answers", answers)

        # the summary line, as fping prints it
        rc, out, err = probe(h, h.a, "-c", "3", "-i", "50", h.B)
        check(rc == 0 and re.match(
            r"^10\.78\.2\.2 : xmt/rcv/%loss = 3/3/0%, min/avg/max = "
            r"(2\d\.\d{3})/(2\d\.\d{3})/(2\d\.\d{3})\n$", out),
            "summary line", rc, out, err)


SERVERS = r"""
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
for fam, host in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((host, 33434))
    sel.register(u, selectors.EVENT_READ, "udp")
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((host, 8080))
    t.listen(64)
    sel.register(t, selectors.EVENT_READ, "tcp")
print("ready", flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:
    for key, _ in sel.select(0.2):
        if key.data == "udp":
            data, peer = key.fileobj.recvfrom(2048)
            key.fileobj.sendto(data, peer)   # an echo service
        else:
            key.fileobj.accept()[0].close()
"""


@t.test
def applications_answer_udp_and_tcp_probes():
    """a UDP echo service answers the UDP probe, a listening TCP port
    with a SYN-ACK timed by the kernel (tcpi_rtt): both through the hop"""
    need_root()
    want = 2 * DELAY_MS
    with Hop(delay_ms=DELAY_MS) as h:
        srv = subprocess.Popen(h.wrap(h.b, ["python3", "-c", SERVERS, h.B,
                                            h.B6]),
                               stdout=subprocess.PIPE, text=True)
        _started.append(srv)
        try:
            check(srv.stdout.readline().strip() == "ready", "servers up")
            for method, answer, targets in (
                    ("udp", "udp reply", [h.B, h.B6]),
                    ("tcp", "syn-ack", [h.B + ":8080", "[%s]:8080" % h.B6])):
                rc, doc, err = probe_json(h, h.a, "-c", "10", "-i", "50",
                                          "--method", method, *targets)
                check(rc == 0, "%s exit %d" % (method, rc), err)
                for tg in doc["targets"]:
                    what = "%s %s" % (method, tg["target"])
                    check(tg["received"] == 10 and
                          {p["answer"] for p in tg["probes"]} == {answer},
                          what + " answered by the application", tg)
                    check(tg["min_ms"] >= want and
                          abs(tg["avg_ms"] - want) < 1.0 and
                          tg["kernel_timestamps"] is True,
                          what + " timed by the kernel", tg)
        finally:
            stop(srv)


@t.test
def loss_injected_in_the_hop_is_counted_within_one_probe():
    """the hop drops every 4th echo request: 20 probes, 5 lost (+-1)"""
    need_root()
    with Hop(delay_ms=1, drop_every=4) as h:
        for target in (h.B, h.B6):
            rc, doc, err = probe_json(h, h.a, "-c", "20", "-i", "20",
                                      "-t", "500", target)
            tg = doc["targets"][0]
            lost = tg["sent"] - tg["received"]
            check(rc == 0 and tg["sent"] == 20, "20 sent " + target, tg)
            check(abs(lost - 5) <= 1 and
                  abs(tg["loss_pct"] - 25.0) <= 5.0,
                  "%s: %d lost, %.0f%%; the hop dropped 5 of 20" %
                  (target, lost, tg["loss_pct"]), tg)
            gone = [p for p in tg["probes"] if "lost" in p]
            check(all(p["lost"] == "timeout" for p in gone),
                  "lost by timeout", gone)


@t.test
def two_hundred_targets_at_once_steal_no_replies():
    """100 answering and 100 black-holed targets, half of each IPv6,
    probed by two keepline probe runs at once: every answering target
    5/5 in both, every black-holed one 0/5"""
    need_root()
    with Hop(direct=True) as h:
        h.run(h.b, "ip", "addr", "add", "10.78.3.0/24", "dev", "lo")
        h.run(h.b, "ip", "-6", "route", "add", "local", "fd78:3::/64",
              "dev", "lo")
        h.run(h.m, "ip", "route", "add", "10.78.3.0/24", "via", h.B)
        h.run(h.m, "ip", "-6", "route", "add", "fd78:3::/64", "via", h.B6)
        h.run(h.m, "ip", "route", "add", "blackhole", "10.78.4.0/24")
        h.run(h.m, "ip", "-6", "route", "add", "blackhole", "fd78:4::/64")
        good = (["10.78.3.%d" % i for i in range(1, 51)] +
                ["fd78:3::%x" % i for i in range(1, 51)])
        black = (["10.78.4.%d" % i for i in range(1, 51)] +
                 ["fd78:4::%x" % i for i in range(1, 51)])
        targets = [x for pair in zip(good, black) for x in pair]
        argv = [KEEPLINE, "probe", "--json", "-c", "5", "-i", "200", "-t",
                "1000"] + targets
        runs = [subprocess.Popen(h.wrap(h.a, argv), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        _started.extend(runs)
        for i, p in enumerate(runs):
            out, err = p.communicate(timeout=60)
            check(p.returncode == 1, "run %d: exit 1 (some lost)" % i,
                  p.returncode, err[-2000:])
            got = {tg["target"]: tg for tg in json.loads(out)["targets"]}
            check(len(got) == 200, "200 targets", len(got))
            bad = [(k, got[k]["received"]) for k in good
                   if got[k]["received"] != 5]
            check(not bad, "run %d: answering targets short" % i, bad)
            stolen = [(k, got[k]["received"]) for k in black
                      if got[k]["received"] != 0]
            check(not stolen, "run %d: replies for black holes" % i, stolen)


@t.test
def ping_sockets_refused_root_uses_raw_and_allowed_uses_ping():
    need_root()
    with Hop(direct=True) as h:
        for rng, method in (("1 0", "raw"), ("0 2147483647", "ping")):
            h.run(h.a, "sysctl", "-qw", "net.ipv4.ping_group_range=" + rng)
            rc, doc, err = probe_json(h, h.a, "-c", "2", "-i", "20", h.B,
                                      h.B6)
            check(rc == 0, "range %s: exit %d" % (rng, rc), err)
            for fam in ("ipv4", "ipv6"):
                check("ICMP probing available method=%s family=%s" %
                      (method, fam) in err, "range %s: %s %s" %
                      (rng, method, fam), err)
            check(all(tg["method"] == "icmp" and tg["received"] == 2
                      for tg in doc["targets"]), "answered", doc)
        # ping sockets need no privilege at all
        rc, doc, err = probe_json(h, h.a, "-c", "2", "-i", "20", h.B,
                                  user="65534")
        check(rc == 0 and "method=ping family=ipv4" in err and
              doc["targets"][0]["method"] == "icmp", "nobody, ping", err,
              doc)


@t.test
def unprivileged_without_ping_sockets_falls_back_to_udp():
    """nobody, ping_group_range "1 0": no ICMP at all, said once per
    family with the fix, and the targets still measured over UDP"""
    need_root()
    with Hop(delay_ms=1) as h:
        h.run(h.a, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
        rc, doc, err = probe_json(h, h.a, "-c", "3", "-i", "20", h.B, h.B6,
                                  user="65534")
        check(rc == 0, "exit %d" % rc, err, doc)
        lines = [l for l in err.splitlines() if "ev=icmp_unavailable" in l]
        check(len(lines) == 2, "one line per family", err)
        for l in lines:
            check("ICMP probing unavailable (insufficient permissions), "
                  "will use UDP" in l and "ping_group_range" in l and
                  "CAP_NET_RAW" in l and "Permission denied" in l and
                  "Operation not permitted" in l, "the line says why", l)
        for tg in doc["targets"]:
            check(tg["method"] == "udp" and tg["received"] == 3 and
                  tg["min_ms"] >= 2.0, "measured over UDP", tg)
        # --method icmp cannot: unmeasured, exit 1, nothing invented
        rc, doc, err = probe_json(h, h.a, "-c", "2", "--method", "icmp",
                                  h.B, user="65534")
        tg = doc["targets"][0]
        check(rc == 1 and "unmeasured" in tg and "sent" not in tg and
              "ping_group_range" in tg["unmeasured"], "icmp only", rc, tg)


@t.test
def probe_usage_errors_exit_2():
    for argv in (["probe"], ["probe", "-c", "x", "10.0.0.1"],
                 ["probe", "--method", "smoke", "10.0.0.1"],
                 ["probe", "-i", "0", "10.0.0.1"]):
        r = kltest.run(argv)
        check(r.returncode == 2 and "usage: keepline probe" in r.stderr,
              " ".join(argv), r.returncode, r.stderr)


def watcher(h, probes, hold):
    """The daemon in ns A, watching B every second"""
    return Daemon("""\
netwatch:
  targets: ["%s"]
  interval: 1s
  probes_per_check: %d
  probe_timeout: 300ms
  hold_down: %s
""" % (h.B, probes, hold), wrap=h.wrap(h.a, []))


def path_lines(d, needle):
    return [l for l in d.logs().splitlines()
            if "ev=path_state" in l and needle in l]


@t.test
def hold_down_keeps_one_lost_probe_in_ten_up_and_a_dead_path_goes_down():
    """interval 1 s, 5 probes a check, hold-down 3 s; the hop drops one
    echo request in ten: up, and up it stays. Then a black hole: down,
    not before the hold-down, and within it plus one check"""
    need_root()
    hold = 3.0
    with Hop(delay_ms=1, drop_every=10) as h:
        d = watcher(h, probes=5, hold="3s")
        with d:
            d.wait_log("Path %s is up, was unknown" % h.B, 5)
            time.sleep(8)
            st = json.loads(d.cli("status", "--json").stdout)
            nw = st["subsystems"]["netwatch"]
            tg = nw["targets"][0]
            check(tg["state"] == "up" and tg["checks"] >= 8,
                  "still up", tg)
            check(len(path_lines(d, h.B)) == 1, "one state change",
                  path_lines(d, h.B))
            check(h.proc.poll() is None, "hop still running")
            text = d.request({"cmd": "metrics"})["text"]
            check('keepline_netwatch_path_up{target="%s"} 1\n' % h.B in text
                  and re.search(r'keepline_netwatch_rtt_seconds\{target='
                                r'"%s"\} 0\.00[2-4]\d' % re.escape(h.B), text),
                  "metrics: up, a round trip of 2 to 5 ms", text)
            p = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=20)
            check(p.returncode == 0, "promtool", p.stdout, p.stderr)

            t0 = time.time()
            h.run(h.m, "ip", "route", "add", "blackhole", h.B + "/32")
            d.wait_log("Path %s is down, was up" % h.B, 10)
            line = [l for l in path_lines(d, h.B) if "is down" in l][0]
            took = log_time(line) - t0
            check(hold - 0.1 <= took <= hold + 1.0 + 0.5 + 0.5 + 0.3,
                  "down %.2f s after the black hole (hold %.0f s)" %
                  (took, hold), line)
            r = d.cli("status")
            check(re.search(r"path %s down icmp 0/5: timeout" %
                            re.escape(h.B), r.stdout), "status line",
                  r.stdout)


def netwatch_status(d):
    r = d.cli("status", "--json")
    check(r.returncode == 0, "status", r.stderr)
    return json.loads(r.stdout)["subsystems"]["netwatch"]


@t.test
def a_method_refused_at_run_time_gives_way_and_comes_back():
    """a firewall rule in the prober's namespace drops its echo requests
    on the way out (sendto: EPERM): the path is measured over UDP
    meanwhile and stays up; the rule goes, and ICMP comes back. One probe
    a second: the target's kernel answers UDP probes with port-unreachables
    at one a second after a burst of six"""
    need_root()
    if not shutil.which("iptables"):
        raise Skip("needs iptables")
    rule = ["OUTPUT", "-p", "icmp", "--icmp-type", "echo-request", "-j",
            "DROP"]
    with Hop(direct=True) as h:
        d = watcher(h, probes=1, hold="2s")
        with d:
            d.wait_log("Path %s is up, was unknown" % h.B, 5)
            h.run(h.a, "iptables", "-A", *rule)
            d.wait_log("icmp probing refused at run time, using the next "
                       "method for 6 s", 5)

            def by(method):
                tg = netwatch_status(d)["targets"][0]
                return tg.get("method") == method and \
                    tg["received"] == tg["sent"] and tg
            tg = wait_for(lambda: by("udp"), 5, "a check over UDP", d.logs)
            check(tg["state"] == "up", "still up", tg)
            h.run(h.a, "iptables", "-D", *rule)
            d.wait_log("icmp probing works again", 10)
            wait_for(lambda: by("icmp"), 5, "a check over ICMP", d.logs)
            check(len(path_lines(d, h.B)) == 1, "never down",
                  path_lines(d, h.B))


@t.test
def udp_probe_of_a_phone_with_a_live_call_never_ends_the_call():
    """netwatch probes the phone by UDP: each probe provokes a
    port-unreachable from the phone, well past icmp.error_threshold; the
    ICMP intake knows them as expected, and the call stays up"""
    need_root()
    extra = """netwatch:
  targets: ["10.77.0.2"]
  method: udp
  interval: 1s
  probe_timeout: 500ms
"""
    with Lan(["ph"]) as lan, Rig(lan, extra=extra) as rig:
        _, _, call_id = rig.call(41000)

        def matched():
            return rig.status_icmp()["matched"] >= 8
        wait_for(matched, 20, "8 expected errors", rig.d.logs)
        calls = [c for c in rig.d.calls() if c["call_id"] == call_id]
        check(calls and calls[0]["state"] == "confirmed", "call up",
              rig.d.logs()[-3000:])
        check("due to ICMP errors" not in rig.d.logs(), "no cleanup",
              rig.d.logs()[-3000:])
        st = json.loads(rig.d.cli("status", "--json").stdout)
        tg = [x for x in st["subsystems"]["netwatch"]["targets"]
              if x["address"] == "10.77.0.2"][0]
        check(tg["method"] == "udp" and tg["received"] > 0 and
              tg["state"] in ("up", "degraded"), "the phone measured", tg)


@t.test
def new_calls_go_to_the_next_trunk_when_a_path_is_down():
    """route trunk: [a, b], callees in two namespaces: a call goes to a;
    a's path is black-holed; netwatch finds it down and the next call
    goes to b, the call's log saying why"""
    need_root()
    with Lan(["ca", "cb"]) as lan:
        ca = Sipp("sn:uas", None, local_ip=lan["ca"].ip, netns=lan["ca"])
        cb = Sipp("sn:uas", None, local_ip=lan["cb"].ip, netns=lan["cb"])
        d = Daemon("""\
sip:
  listen: ["udp:0.0.0.0:5060"]
trunks:
  - {name: local, addresses: [127.0.0.1], probe: false}
  - {name: a, addresses: ["%s/32"], outbound_uri: "sip:%s:%d"}
  - {name: b, addresses: ["%s/32"], outbound_uri: "sip:%s:%d"}
routes:
  - {match: "+44*", action: bridge, target: "sip:uas@callee.invalid",
     trunk: [a, b]}
netwatch:
  interval: 1s
  probe_timeout: 300ms
  hold_down: 1s
""" % (lan["ca"].ip, lan["ca"].ip, ca.sip_port, lan["cb"].ip,
       lan["cb"].ip, cb.sip_port), wrap=lan["gw"].wrap([]))
        try:
            with d:
                ca.start()
                cb.start()
                for ip in (lan["ca"].ip, lan["cb"].ip):
                    d.wait_log("Path %s is up" % ip, 5)
                a1 = Sipp("sn:uac", "127.0.0.1:5060", service="+4420",
                          netns=lan["gw"], duration_ms=200)
                check(a1.run(30) == 0, "first call", a1.report(),
                      d.logs()[-3000:])
                check(re.search(r"Calling \S+ via trunk a ", d.logs()),
                      "first call via a", d.logs()[-3000:])

                lan["ca"].run("ip", "route", "add", "blackhole", Lan.GW)
                d.wait_log("Path %s is down" % lan["ca"].ip, 10)
                r = d.cli("status")
                check(re.search(r"path %s down icmp 0/5: timeout trunk a"
                                % re.escape(lan["ca"].ip), r.stdout),
                      "status shows a's path", r.stdout)
                a2 = Sipp("sn:uac", "127.0.0.1:5060", service="+4420",
                          netns=lan["gw"], duration_ms=200)
                check(a2.run(30) == 0, "second call", a2.report(),
                      d.logs()[-3000:])
                check(cb.wait(10) == 0, "b's callee took the call",
                      cb.report())
                check("Trunk a skipped for this call: path down "
                      "(netwatch)" in d.logs() and
                      re.search(r"Calling \S+ via trunk b ", d.logs()),
                      "second call via b", d.logs()[-3000:])
        finally:
            for s in (ca, cb):
                if s.proc:
                    stop(s.proc)


t.run()
