"""Calls from a trunk, driven by sipp: admission, routing, echo media,
hold, refusals, the silence backstop. RTP is checked on the wire."""

import os
import re
import time

import kltest
from kltest import (TAP, Daemon, call_end_counts, check, gateway_yaml,
                    rtp_ports, wait_for)
from sippkit import Capture, RawUac, Sipp

t = TAP()


def gateway(extra=""):
    """A daemon with one trunk (127.0.0.1) and a few routes; extra: more
    media keys"""
    y, ports = gateway_yaml(
        trunks="  - name: lab\n    addresses: [127.0.0.1]\n",
        routes="  - {match: echo, action: echo}\n"
        "  - {match: busy, action: reject, code: 486}\n",
        media=extra)
    d = Daemon(y)
    d.sip = "127.0.0.1:%d" % ports["udp"]
    return d


def wait_for_call(d, timeout=5.0):
    def up():
        cs = d.calls()
        if cs and cs[0]["legs"][0].get("media", {}).get("rx_packets"):
            return cs[0]
    return wait_for(up, timeout, "a call with RTP", d.logs)


def need_root():
    kltest.need_root("capturing RTP on lo needs root")


@t.test
def echo_call_rtp_flows_both_ways():
    need_root()
    with gateway() as d, Capture() as cap:
        s = Sipp("uac_echo_rtp.xml", d.sip, duration_ms=2000).start()
        call = wait_for_call(d)
        leg = call["legs"][0]
        check(call["route"] == "echo" and call["trunk"] == "lab" and
              call["state"] == "confirmed", "call", call)
        check(leg["signalling"] == "127.0.0.1:%d" % s.sip_port, "leg", leg)
        media = leg["media"]
        check(media["remote"] == "127.0.0.1:%d" % s.media_port, "latched",
              media)
        check(media["direction"] == "sendrecv", "direction", media)
        check(media["tx_packets"] > 0, "nothing echoed yet", media)

        rc = s.wait()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        ours = int(media["local"].rsplit(":", 1)[1])
        sent = cap.count(s.media_port, ours)
        back = cap.count(ours, s.media_port)
        # 2 s at 50 packets/s, each one returned
        check(sent >= 80, "sipp sent %d RTP packets" % sent)
        check(back >= sent - 2, "echoed %d of %d" % (back, sent))
        check(d.calls() == [], "call still listed")
        m = call_end_counts(d.logs())
        check(m == (sent, back),
              "call_end counts", d.logs(), (sent, back))


@t.test
def call_from_outside_every_trunk_gets_403():
    with gateway() as d:
        s = Sipp("uac_forbidden_403.xml", d.sip, local_ip="127.0.0.2")
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        check(re.search(r"WARN|INFO sip: Call refused with 403: source is "
                        r"in no trunk's addresses ev=call_rejected .* "
                        r"source=127\.0\.0\.2:%d" % s.sip_port, d.logs()),
              "log", d.logs())
        check(d.calls() == [], "call listed")


@t.test
def unknown_number_gets_404():
    with gateway() as d:
        s = Sipp("uac_unknown_404.xml", d.sip, service="999")
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        check("Call refused with 404: no route matches" in d.logs(), "log",
              d.logs())


@t.test
def reject_route_answers_its_code():
    with gateway() as d:
        s = Sipp("uac_reject_486.xml", d.sip, service="busy")
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())


@t.test
def no_common_codec_gets_488():
    with gateway() as d:
        s = Sipp("uac_no_common_codec_488.xml", d.sip)
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        check("ev=sdp_refused" in d.logs(), "log", d.logs())
        st = d.request({"cmd": "status"})
        check(st["subsystems"]["media"]["ports_used"] == 0, "ports kept",
              st)


@t.test
def options_answered_with_allow():
    with gateway() as d:
        s = Sipp("uac_options.xml", d.sip)
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        st = d.request({"cmd": "status"})
        check(st["subsystems"]["sip"]["options"] == 1, "counter", st)


@t.test
def hold_stops_the_echo_and_unhold_resumes_it():
    need_root()
    with gateway() as d, Capture() as cap:
        s = Sipp("uac_hold_unhold.xml", d.sip, duration_ms=1500).start()
        call = wait_for_call(d)
        ours = int(call["legs"][0]["media"]["local"].rsplit(":", 1)[1])
        rc = s.wait()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        sent = cap.count(s.media_port, ours)
        back = cap.count(ours, s.media_port)
        # three phases of 1.5 s; nothing comes back in the middle one
        check(sent >= 180, "sipp sent %d" % sent)
        check(back <= sent - 50, "echo went on during hold: %d of %d"
              % (back, sent))
        check(back >= 100, "echo did not resume: %d of %d" % (back, sent))


@t.test
def used_up_rtp_ports_get_503_and_come_back():
    """Two port pairs: two calls at once take them, four more get 503
    with Retry-After (uac_limits.xml checks it); said once in the log; the
    ports come back when the calls end, and the next calls are answered."""
    y, ports = gateway_yaml(
        trunks="  - name: lab\n    addresses: [127.0.0.1]\n",
        routes="  - {match: echo, action: echo}\n", rtp=4)
    d = Daemon(y)
    d.sip = "127.0.0.1:%d" % ports["udp"]
    with d:
        s = Sipp("uac_limits.xml", d.sip, duration_ms=3000, calls=6)
        rc = s.run(timeout=30)
        check(rc == 0, "sipp exit %d" % rc, s.report())
        st = d.request({"cmd": "status"})["subsystems"]
        check(st["sip"]["answered"] == 2 and st["sip"]["rejected"] == 4,
              "two answered, four refused", st)
        check(st["media"]["ports_used"] == 0, "ports back", st)
        said = re.findall(r"ev=media_ports_exhausted .*", d.logs())
        check(len(said) == 1 and re.search(r"refused=1\b", said[0]) and
              "media_unavailable" not in d.logs(), "said once", d.logs())

        s = Sipp("uac_limits.xml", d.sip, duration_ms=0, calls=2)
        rc = s.run(timeout=30)
        check(rc == 0, "sipp exit %d" % rc, s.report())
        st = d.request({"cmd": "status"})["subsystems"]["sip"]
        check(st["answered"] == 4 and st["rejected"] == 4,
              "the next calls answered", st)


@t.test
def silence_ends_the_call_with_bye_and_reason():
    with gateway("rtp_timeout: 2s") as d:
        t0 = time.monotonic()
        s = Sipp("uac_rtp_timeout.xml", d.sip)
        rc = s.run()
        took = time.monotonic() - t0
        check(rc == 0, "sipp exit %d" % rc, s.report())
        check(1.9 <= took <= 4.5, "BYE after %.2fs" % took)
        check("No RTP from the caller for 2000 ms, ending the call "
              "ev=rtp_timeout" in d.logs(), "log", d.logs())
        check(re.search(r"ev=call_end \S+ reason=rtp_timeout", d.logs()),
              "call_end", d.logs())
        check(d.calls() == [], "call still listed")


@t.test
def shutdown_ends_calls_with_bye():
    import signal
    with gateway() as d:
        s = Sipp("uac_wait_bye.xml", d.sip).start()
        wait_for(d.calls, 5, "a call", d.logs)
        rc, took = d.stop(signal.SIGTERM)
        check(rc == 0 and took < 1.0, "exit %d after %.2fs" % (rc, took))
        rc = s.wait()
        check(rc == 0, "caller got no BYE: sipp exit %d" % rc, s.report())
        check('Reason: SIP;cause=503;text="Gateway shutting down"' in
              s.messages(), "Reason", s.report())
        check("Ending 1 call(s) for shutdown ev=shutdown_calls" in d.logs(),
              "log", d.logs())


@t.test
def shutdown_waits_for_bye_answers_then_gives_up():
    """A caller that never answers our BYE: the stop waits for it until
    the deadline, says so, and exits 0; an INVITE meanwhile gets 503."""
    import signal
    import threading
    with gateway() as d:
        port = int(d.sip.split(":")[1])
        ua = RawUac(port, "echo", "mute-at-shutdown")
        ua.send("INVITE", 1, ua.sdp())
        check(ua.final().startswith("SIP/2.0 200"), "answered")
        ua.send("ACK", 1)
        wait_for(lambda: d.calls() and d.calls()[0]["state"] ==
                 "confirmed", 5, "the call confirmed", d.logs)

        late = RawUac(port, "echo", "late-at-shutdown")
        got = {}

        def during_stop():
            d.wait_log("ev=shutdown_calls")
            late.send("INVITE", 1, late.sdp())
            got["late"] = late.final()

        th = threading.Thread(target=during_stop)
        th.start()
        rc, took = d.stop(signal.SIGTERM)
        th.join(5)
        check(rc == 0 and 2.5 < took < 4.5, "exit %d after %.2f s"
              % (rc, took), d.logs()[-2000:])
        ua.sock.settimeout(0.5)
        bye = ua.sock.recv(65535).decode(errors="replace")
        check(bye.startswith("BYE "), "our BYE reached the caller", bye)
        check(re.search(r"WARN gateway: Stopping took longer than 3000 ms; "
                        r"exiting without waiting for: sip ev=stop_deadline "
                        r"modules=sip deadline_ms=3000$", d.logs(), re.M),
              "stop_deadline line", d.logs()[-2000:])
        check(got.get("late", "").startswith("SIP/2.0 503"),
              "INVITE during the stop", got, d.logs()[-2000:])
        ua.close()
        late.close()


@t.test
def echo_call_over_tcp():
    y, ports = gateway_yaml(
        listen=("udp", "tcp"),
        trunks="  - {name: lab, addresses: [127.0.0.1]}\n",
        routes="  - {match: echo, action: echo}\n", rtp=50)
    port = ports["tcp"]
    with Daemon(y) as d:
        s = Sipp("uac_echo_rtp.xml", "127.0.0.1:%d" % port,
                 duration_ms=1000, extra=["-t", "t1"])
        rc = s.run()
        check(rc == 0, "sipp over TCP exit %d" % rc, s.report())
        m = call_end_counts(d.logs())
        check(m and m[0] >= 40 and m[0] == m[1],
              "RTP over a TCP-signalled call", d.logs())


@t.test
def offer_in_our_200_when_the_invite_has_none():
    """Delayed offer (an INVITE without SDP) and a re-INVITE without SDP:
    we offer in the 200, the ACK answers, RTP is echoed; an ACK without an
    answer to a new call's offer ends it."""
    with gateway() as d:
        s = Sipp("uac_delayed_offer.xml", d.sip, duration_ms=1000)
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        check(re.search(r"m=audio \d+ RTP/AVP 0 8 101\r?\n", s.messages()),
              "our offer: PCMU, PCMA, telephone-event", s.messages())
        m = call_end_counts(d.logs())
        check(m and min(m) >= 80, "RTP echoed across both offers",
              d.logs())
        check("ack_sdp_refused" not in d.logs(), "answers refused",
              d.logs())

        s = Sipp("uac_delayed_offer_no_answer.xml", d.sip)
        rc = s.run()
        check(rc == 0, "sipp exit %d" % rc, s.report())
        d.wait_log("Our offer got no answer in the ACK, ending the call "
                   "ev=ack_sdp_refused")

        # a body that is no SDP: 415, saying what we take (RFC 3261
        # §21.4.13)
        ua = RawUac(int(d.sip.split(":")[1]), "echo", "not-sdp")
        ua.send("INVITE", 1, "hello", ctype="text/plain")
        r = ua.final()
        ua.send("ACK", 1)
        ua.close()
        check(r.startswith("SIP/2.0 415 ") and
              re.search(r"(?mi)^Accept: *application/sdp\r?$", r), "415", r)


@t.test
def public_addresses_go_in_contact_and_sdp():
    """Behind 1:1 NAT: sip.public_address in Contact (and Via), and
    media.public_address in the SDP, while the sockets stay on the local
    address and RTP from the NAT side is still echoed."""
    import socket
    import struct
    rtp_range = rtp_ports(10)
    base, last = map(int, rtp_range.split("-"))
    y, ports = gateway_yaml(
        sip="public_address: 203.0.113.10",
        trunks="  - {name: lab, addresses: [127.0.0.1]}\n",
        routes="  - {match: echo, action: echo}\n",
        media="public_address: 198.51.100.7", rtp=rtp_range)
    port = ports["udp"]
    ua = RawUac(port, "echo", "nat-call")
    with Daemon(y) as d:
        ua.send("INVITE", 1, ua.sdp())
        ok = ua.final()
        check(ok.startswith("SIP/2.0 200 ") and
              re.search(r"(?m)^Contact: <sip:203\.0\.113\.10:%d[;>]" % port,
                        ok) and
              re.search(r"(?m)^c=IN IP4 198\.51\.100\.7\r?$", ok) and
              re.search(r"(?m)^o=\S+ \d+ \d+ IN IP4 198\.51\.100\.7\r?$",
                        ok), "public addresses in the 200", ok)
        rtp = int(re.search(r"m=audio (\d+)", ok).group(1))
        check(base <= rtp <= last, "RTP port %d" % rtp)
        ua.send("ACK", 1)

        # the NAT delivers to the local address: echoed all the same
        back = 0
        for seq in range(10):
            pkt = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 77) + \
                b"\xff" * 160
            ua.sock.sendto(pkt, ("127.0.0.1", rtp))
            try:
                back += ua.sock.recv(2048)[:12] == pkt[:12]
            except socket.timeout:
                pass
        check(back == 10, "RTP echoed: %d of 10" % back)
        ua.send("BYE", 2)
        check(ua.final().startswith("SIP/2.0 200 "), "BYE")
    ua.close()

    sc = kltest.Scratch()
    for bad in ("203.0.113.10:5060x", "gw example", "1.2.3.4:5060"):
        conf = sc.file("bad.yaml", "sip: {public_address: '%s'}\n" % bad)
        r = kltest.run(["-c", conf, "check-config"])
        check(r.returncode == 2 and "sip.public_address: '%s' is not a host "
              "name or an IP address" % bad in r.stderr, "refused", bad, r)


@t.test
def malformed_sip_leaves_the_daemon_unharmed():
    import socket
    junk = [
        b"garbage\r\n\r\n",
        b"INVITE sip:echo@127.0.0.1 SIP/2.0\r\nVia: broken\r\n\r\n",
        b"INVITE sip:echo@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n"
        b"\r\nv=0",
        b"SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n",
        bytes(range(256)) * 8,
        b"\x00" * 1400,
    ]
    with gateway() as d:
        host, port = d.sip.split(":")
        port = int(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for j in junk:
                u.sendto(j, (host, port))
        s = Sipp("uac_options.xml", d.sip)
        rc = s.run()
        check(rc == 0, "OPTIONS after junk: sipp exit %d" % rc, s.report())
        check(d.proc.poll() is None, "daemon died", d.logs())


t.run()
