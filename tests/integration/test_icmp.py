"""Dead media peers found from ICMP errors, across veths between network
namespaces: the phones' kernels send the port-unreachables (and rate-limit
them) as real hosts do.

  ns ph (10.77.0.2)  sipp caller + a phone's RTP (nettools rtp)
  ns sp (10.77.0.3)  forges ICMP with a raw socket
  ns gw (10.77.0.1)  keepline, and a callee sipp on 127.0.0.1 that talks
                     (its RTP keeps flowing to the phone through keepline),
                     with the callee's RTCP from nettools rtcp where a test
                     needs RTCP
"""

import re
import shutil
import signal
import subprocess
import time

import kltest
from icmprig import NETTOOLS, Rig, closed_at, kill_phone
from kltest import TAP, Skip, _started, check, stop
from nettools import Lan
from sippkit import Sipp

t = TAP()


def need_root():
    kltest.need_root("network namespaces need root")
    if not shutil.which("ip"):
        raise Skip("network namespaces need iproute2")


def spoof(lan, src, qsrc, qdst, itype=3, code=3, payload="", count=1,
          gap=0.002):
    lan["sp"].run("python3", NETTOOLS, "icmp", src, Lan.GW, str(itype),
                  str(code), qsrc, qdst, payload, str(count), str(gap))


@t.test
def dead_caller_gets_bye_on_both_legs_at_once():
    need_root()
    with Lan(["ph", "sp"]) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(40000)
        t0 = kill_phone(phone)
        latency = closed_at(rig.d, call_id, 5) - t0
        check(not rig.d.calls(), "call still listed", rig.d.calls())
        check(latency < 0.5, "detected after %.3f s" % latency, rig.d.logs())

        # BYE with the Reason reached both sipps, on the wire
        check(caller.wait(20) == 0, "caller sipp", caller.report())
        check(rig.callee.wait(20) == 0, "callee sipp", rig.callee.report())
        bye = re.search(r"^BYE sip:.*?\n\r?\n", caller.messages(),
                        re.M | re.S)
        check(bye and re.search(r"^Reason: SIP;cause=480;text=\"Media peer "
                                r"unreachable \(ICMP\)\"", bye.group(0), re.M),
              "Reason in the caller's BYE", caller.messages())
        logs = rig.d.logs()
        for text in ("ICMP-based session cleanup callback registered",
                     "IPv4 ICMP listener started successfully",
                     "Unmatched ICMP error for dest=10.77.0.2 (count: 1/5)",
                     "ICMP error threshold reached for dest=10.77.0.2, "
                     "triggering session cleanup",
                     "Cleaning up 1 session(s) with peer IP 10.77.0.2 due "
                     "to ICMP errors: [%s]" % call_id):
            check(text in logs, "log: " + text, logs)
        st = rig.status_icmp()
        check(st["errors_queue"] > 0 and st["errors_raw"] > 0 and
              st["cleanups"] == 1 and st["sessions_cleaned"] == 1,
              "status counters", st)
        print("# detection %.0f ms" % (latency * 1000))


@t.test
def ipv6_dead_caller_is_cleaned_up():
    need_root()
    with Lan(["ph"], v6=True) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(40000)
        t0 = kill_phone(phone)
        latency = closed_at(rig.d, call_id, 5) - t0
        logs = rig.d.logs()
        check("Unmatched ICMP error for dest=fd77::2 (count: 1/5)" in logs,
              "ICMPv6 counted", logs)
        check("IPv6 ICMPv6 listener started successfully" in logs,
              "v6 listener", logs)
        st = rig.status_icmp()
        check(st["errors_queue"] > 0 and st["errors_raw"] > 0,
              "both intakes read ICMPv6", st)
        check(latency < 0.5, "detected after %.3f s" % latency, logs)
        check(caller.wait(20) == 0, "caller sipp", caller.report())


@t.test
def phone_dead_before_its_ack_gets_bye_after_it():
    need_root()
    with Lan(["ph"]) as lan, Rig(lan) as rig:
        # nothing listens on the phone's RTP port from the start
        ph = lan["ph"]
        a = Sipp("uac_late_ack_wait_bye.xml", "%s:%d" % (Lan.GW, 5060),
                 service="+442079460000", local_ip=ph.ip, netns=ph,
                 extra=["-key", "rtp_port", "40000"]).start()
        rc = a.wait(30)
        logs = rig.d.logs()
        check(rc == 0, "caller sipp (a BYE before the ACK fails it)",
              a.report(), logs)
        check("Closed peer connection for" in logs, "ICMP cleanup", logs)
        msgs = a.messages()
        ack, bye = msgs.find("\nACK sip:"), msgs.find("\nBYE sip:")
        check(0 <= ack < bye, "BYE after the ACK", msgs)
        check(not rig.d.calls(), "call gone", rig.d.calls())


def two_calls(scope):
    with Lan(["ph", "sp"]) as lan, \
            Rig(lan, "  cleanup_scope: %s\n" % scope, calls=2) as rig:
        _, dead, id1 = rig.call(40000)
        _, alive, id2 = rig.call(40002)
        kill_phone(dead)
        closed_at(rig.d, id1, 5)
        time.sleep(1.0)   # errors for the dead port keep coming: no matter
        return rig.d.calls(), id2, rig.d.logs()


@t.test
def endpoint_scope_spares_another_port_of_that_ip():
    need_root()
    calls, id2, logs = two_calls("endpoint")
    check([c["call_id"] for c in calls] == [id2], "only the live call",
          calls)
    check("Cleaning up 1 session(s) with peer IP 10.77.0.2" in logs,
          "one session", logs)


@t.test
def ip_scope_cleans_every_session_of_that_ip():
    need_root()
    calls, id2, logs = two_calls("ip")
    check(calls == [], "both calls gone", calls)
    check("Cleaning up 2 session(s) with peer IP 10.77.0.2" in logs,
          "two sessions", logs)
    check("Closed peer connection for %s due to ICMP errors" % id2 in logs,
          "the live one too", logs)


@t.test
def forged_and_harmless_errors_drop_no_call():
    need_root()
    with Lan(["ph", "sp"]) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(40000)
        local = rig.media_local(call_id)
        phone_rtp = "10.77.0.2:40000"
        before = rig.status_icmp()
        # a 4-tuple that is not ours: another port of the peer
        spoof(lan, "10.77.0.2", local, "10.77.0.2:40010", count=8)
        # a packet we never sent: right 4-tuple, foreign SSRC/sequence
        spoof(lan, "10.77.0.2", local, phone_rtp,
              payload="8000ffff0000000012345678", count=8)
        # port unreachable from a host that is not the peer
        spoof(lan, "10.77.0.3", local, phone_rtp, count=8)
        # fragmentation needed and time exceeded, from the peer and a router
        spoof(lan, "10.77.0.2", local, phone_rtp, code=4, count=8)
        spoof(lan, "10.77.0.3", local, phone_rtp, itype=11, code=0, count=8)
        time.sleep(1.0)
        calls = rig.d.calls()
        check([c["call_id"] for c in calls] == [call_id], "call alive",
              calls, rig.d.logs())
        st = rig.status_icmp()
        check(st["foreign"] - before["foreign"] >= 24, "foreign", st)
        check(st["frag_needed"] >= 8 and st["time_exceeded"] >= 8,
              "harmless", st)
        check(st["cleanups"] == 0 and "Unmatched ICMP" not in rig.d.logs(),
              "nothing counted", rig.d.logs())
        check("ICMP fragmentation needed" in rig.d.logs() and
              "MTU 1280" in rig.d.logs(), "MTU logged", rig.d.logs())


@t.test
def rtp_from_the_peer_resets_the_count():
    need_root()
    with Lan(["ph", "sp"]) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(40000)
        local = rig.media_local(call_id)
        # bare 4-tuple quotes from the peer's address count, unverified;
        # the phone's RTP (every 20 ms) wipes them between bursts, so each
        # burst counts from 1 again and none reaches 5
        for _ in range(3):
            spoof(lan, "10.77.0.2", local, "10.77.0.2:40000", count=4,
                  gap=0)
            time.sleep(0.3)
        logs = rig.d.logs()
        check(logs.count("(count: 1/5)") >= 3 and
              "(count: 5/5)" not in logs, "counts restart", logs)
        check([c["call_id"] for c in rig.d.calls()] == [call_id],
              "call alive", logs)
        # the phone pauses (its socket stays open): no RTP to reset the
        # count, and the same quotes reach the threshold
        phone.send_signal(signal.SIGSTOP)
        time.sleep(0.1)
        spoof(lan, "10.77.0.2", local, "10.77.0.2:40000", count=5)
        closed_at(rig.d, call_id, 5)
        check("(count: 5/5)" in rig.d.logs() and
              "trigger=count" in rig.d.logs(), "threshold by count",
              rig.d.logs())


@t.test
def drained_limiter_still_detects_within_a_second():
    need_root()
    with Lan(["ph", "sp"]) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(40000)
        # another closed port of the phone's host, 20 packets/s from the
        # gateway's address: its kernel has no ICMP tokens left for us
        drain = subprocess.Popen(lan["gw"].wrap(
            ["python3", NETTOOLS, "drain", "10.77.0.2:9", "20", "30"]))
        _started.append(drain)
        try:
            time.sleep(2.0)
            t0 = kill_phone(phone)
            latency = closed_at(rig.d, call_id, 8) - t0
        finally:
            stop(drain)
        logs = rig.d.logs()
        check(latency < 2.0, "detected after %.3f s" % latency, logs)
        check(re.search(r"threshold reached for dest=10\.77\.0\.2.* "
                        r"trigger=confirmed", logs), "confirmed", logs)
        # the limiter really was empty: errors came one at a time
        check("(count: 3/5)" not in logs, "drained", logs)
        print("# detection with a drained limiter %.0f ms" % (latency * 1000))



@t.test
def unprivileged_gateway_detects_through_error_queues():
    need_root()   # to build the namespaces; keepline itself runs as nobody
    with Lan(["ph", "sp"]) as lan, Rig(lan, user="65534") as rig:
        caller, phone, call_id = rig.call(40000)
        t0 = kill_phone(phone)
        latency = closed_at(rig.d, call_id, 5) - t0
        logs = rig.d.logs()
        check("Failed to create IPv4 ICMP socket (requires CAP_NET_RAW or "
              "root)" in logs, "raw refused", logs)
        st = rig.status_icmp()
        check(st["errors_raw"] == 0 and st["errors_queue"] > 0 and
              not st["raw_v4"], "queue only", st)
        check(latency < 0.5, "detected after %.3f s" % latency, logs)


def rtcp_peer(rig, call_id, secs):
    """The callee's RTCP, from its host (ns gw, 127.0.0.1) to the callee
    leg's RTCP port, an RR every 0.2 s; counts the RTCP it gets back."""
    callee = rig.legs(call_id)[1]
    p = subprocess.Popen(rig.lan["gw"].wrap(
        ["python3", NETTOOLS, "rtcp", "127.0.0.1:0", callee["rtcp_local"],
         str(secs)]), stdout=subprocess.PIPE, text=True)
    _started.append(p)
    rig.phones.append(p)
    check(p.stdout.readline().strip() == "ready", "RTCP peer ready")
    return p


def counts(line):
    """{"rtcp": N, ...} from a nettools summary line "rtcp=N other=M"."""
    return {k: int(v) for k, v in (w.split("=") for w in line.split())}


@t.test
def silent_caller_without_rtcp_port_keeps_its_call():
    """The caller never opens RTCP and pauses 8 s (VAD); the callee sends
    RTP and RTCP. Our RTCP to the caller's port + 1 is refused: RTCP to
    it stops, nothing counts, the call lives. Then it really dies."""
    need_root()
    with Lan(["ph"]) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(40000, phone=["pause=3:8"])
        t_up = time.time()
        rtcp_peer(rig, call_id, 30)
        rig.d.wait_log("RTCP to it stopped", 5)
        # the pause runs from 3 s to 11 s after the first RTP
        time.sleep(max(0, t_up + 12.0 - time.time()))
        before = rig.legs(call_id)
        check(before, "call alive after the pause", rig.d.logs())
        time.sleep(max(0, t_up + 20.0 - time.time()))
        after = rig.legs(call_id)
        logs = rig.d.logs()
        check(after, "call alive 20 s in", logs)
        check("Cleaning up" not in logs and "Unmatched ICMP" not in logs,
              "nothing counted, no cleanup", logs)
        check(logs.count("RTCP to it stopped") == 1,
              "rtcp_unreachable logged once", logs)
        got = after[0]["rx_packets"] - before[0]["rx_packets"]
        sent = after[0]["tx_packets"] - before[0]["tx_packets"]
        check(got > 200 and sent > 200, "RTP both ways after the pause: "
              "%d from the caller, %d to it" % (got, sent), after)
        check(after[1]["rtcp_rx"] > 10 and not after[0]["rtcp_sending"],
              "the callee's RTCP came, none goes to the caller", after)
        check(rig.status_icmp()["rtcp"] >= 1, "status counts it",
              rig.status_icmp())

        # now the caller's RTP socket closes: cleaned up as ever
        t0 = kill_phone(phone)
        latency = closed_at(rig.d, call_id, 5) - t0
        check(latency < 0.5, "detected after %.3f s" % latency, rig.d.logs())
        check(caller.wait(20) == 0, "caller sipp", caller.report())
        print("# detection after the RTCP errors %.0f ms" % (latency * 1000))


def udp_ports(ns):
    """Local UDP ports bound in namespace ns (/proc/net/udp)."""
    lines = ns.run("cat", "/proc/net/udp").stdout.splitlines()[1:]
    return {int(l.split()[1].split(":")[1], 16) for l in lines}


@t.test
def rtcp_mux_caller_bridged_to_a_plain_callee():
    """RFC 5761: the caller muxes, the callee does not. Each side's RTCP
    reaches the other on the right port, and the muxed leg binds no
    RTCP port."""
    need_root()
    with Lan(["ph"]) as lan, Rig(lan) as rig:
        caller, phone, call_id = rig.call(
            40000, phone=["mux"], scenario="uac_phone_mux_wait_bye.xml",
            secs=8)
        peer = rtcp_peer(rig, call_id, 5)
        mux, plain = rig.legs(call_id)
        check(mux["rtcp_mux"] and "rtcp_local" not in mux and
              mux["rtcp_remote"] == "10.77.0.2:40000",
              "caller's leg muxed", mux)
        check(not plain["rtcp_mux"] and plain.get("rtcp_local"),
              "callee's leg has an RTCP port", plain)
        port = int(mux["local"].rsplit(":", 1)[1])
        bound = udp_ports(lan["gw"])
        check(port in bound and port + 1 not in bound,
              "RTP port %d bound, %d not" % (port, port + 1), sorted(bound))

        back = counts(peer.communicate(timeout=15)[0])
        mux, plain = rig.legs(call_id)
        check(back["rtcp"] >= 10 and back["other"] == 0,
              "the caller's RTCP at the callee's RTCP port", back)
        check(mux["rtcp_rx"] >= 10 and plain["rtcp_tx"] >= 10 and
              plain["rtcp_rx"] >= 10 and mux["rtcp_tx"] >= 10 and
              mux["dropped"] == 0, "RTCP relayed both ways", mux, plain)
        heard = counts(phone.communicate(timeout=15)[0])
        check(heard["rtcp"] >= 10 and heard["rtp"] > 100,
              "the callee's RTCP at the caller's RTP port", heard)

        invite = rig.callee.messages().split("SIP/2.0 180")[0]
        check("a=rtcp-mux" in invite, "rtcp-mux offered to the callee",
              invite)
        # the caller's scenario checks a=rtcp-mux in our 200 (ereg)
        check(caller.wait(20) == 0, "caller sipp", caller.report())


if __name__ == "__main__":
    t.run()
