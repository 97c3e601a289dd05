"""The bridge route: Keepline as a B2BUA between a sipp caller and a sipp
callee, with RTP relayed through both legs and checked on the wire."""

import re
import time

from kltest import (TAP, Daemon, Scratch, call_end_counts, check,
                    gateway_yaml, need_root, run, wait_for)
from sippkit import Capture, Sipp

t = TAP()


def gateway(callee, credentials="", media=""):
    """Trunk "lab" reaches the callee; numbers +44... are bridged to it."""
    y, ports = gateway_yaml(
        trunks="  - name: lab\n    addresses: [127.0.0.1]\n"
        "    outbound_uri: sip:127.0.0.1:%d\n%s" % (callee.sip_port,
                                                   credentials),
        routes="  - {match: \"+44*\", action: bridge, target: "
        "\"sip:uas@127.0.0.1:%d\", trunk: lab}\n" % callee.sip_port,
        media=media, rtp=20)
    d = Daemon(y)
    d.sip = "127.0.0.1:%d" % ports["udp"]
    return d


def callee(scenario, duration_ms=1000):
    s = Sipp(scenario, None, duration_ms=duration_ms, extra=["-rtp_echo"])
    return s


def both(a, b):
    """Wait for caller a, then callee b; both must pass."""
    ra = a.wait()
    rb = b.wait()
    check(ra == 0, "caller sipp exit %d" % ra, a.report())
    check(rb == 0, "callee sipp exit %d" % rb, b.report())


@t.test
def bridge_relays_rtp_both_ways():
    need_root("capturing RTP on lo needs root")
    b = callee("uas_answer_rtp.xml")
    with gateway(b) as d, Capture() as cap:
        b.start()
        a = Sipp("uac_echo_rtp.xml", d.sip, service="+442079460000",
                 duration_ms=2000).start()

        def bridged():
            cs = d.calls()
            if cs and len(cs[0]["legs"]) == 2 and \
                    cs[0]["legs"][1].get("media", {}).get("rx_packets"):
                return cs
        cs = wait_for(bridged, 5, "a bridged call with RTP", d.logs)
        legs = cs[0]["legs"]
        check(cs[0]["route"] == "bridge" and cs[0]["state"] == "confirmed",
              "call", cs[0])
        check(legs[1]["role"] == "outbound" and legs[1]["status"] == 200 and
              legs[1]["target"] == "sip:uas@127.0.0.1:%d" % b.sip_port,
              "outbound leg", legs[1])
        a_port = int(legs[0]["media"]["local"].rsplit(":", 1)[1])
        b_port = int(legs[1]["media"]["local"].rsplit(":", 1)[1])
        both(a, b)

        # caller -> A -> (relay) B -> callee -> (echo) B -> A -> caller
        up = cap.count(a.media_port, a_port)
        out = cap.count(b_port, b.media_port)
        back = cap.count(b.media_port, b_port)
        down = cap.count(a_port, a.media_port)
        check(up >= 80, "caller sent %d" % up)
        check(out >= up - 2 and back >= up - 4 and down >= up - 6,
              "relay lost packets: %d -> %d -> %d -> %d"
              % (up, out, back, down))
        check(d.calls() == [], "call still listed")
        check(re.search(r"ev=call_end call_id=\S+ reason=bye_received",
                        d.logs()), "call_end", d.logs())


@t.test
def cancel_before_answer_reaches_the_callee():
    b = callee("uas_ring_cancel.xml")
    with gateway(b) as d:
        b.start()
        a = Sipp("uac_cancel.xml", d.sip, service="+44123",
                 duration_ms=500).start()
        both(a, b)
        check(re.search(r"ev=call_end \S+ reason=cancelled", d.logs()),
              "call_end", d.logs())
        check(d.calls() == [], "call still listed")


@t.test
def shutdown_while_ringing_cancels_the_callee():
    """SIGTERM with a callee ringing: 487 to the caller, CANCEL to the
    callee, and the daemon waits for them (the SIP module's stop)."""
    import signal
    b = callee("uas_ring_cancel.xml")
    with gateway(b) as d:
        b.start()
        a = Sipp("uac_ring_shutdown_487.xml", d.sip,
                 service="+44123").start()
        wait_for(lambda: d.calls() and d.calls()[0]["state"] ==
                 "proceeding", 10, "a ringing call", d.logs)
        rc, took = d.stop(signal.SIGTERM)
        check(rc == 0 and took < 2.0, "exit %d after %.2f s" % (rc, took),
              d.logs()[-2000:])
        both(a, b)
        check("stop_deadline" not in d.logs(), "waited in vain", d.logs())


@t.test
def callee_refusal_reaches_the_caller():
    b = callee("uas_busy_486.xml")
    with gateway(b) as d:
        b.start()
        a = Sipp("uac_reject_486.xml", d.sip, service="+44123").start()
        both(a, b)
        check("Callee refused with 486 ev=bridge_refused" in d.logs(),
              "log", d.logs())


@t.test
def callee_hangup_ends_both_legs():
    b = callee("uas_answer_hangup.xml", duration_ms=800)
    with gateway(b) as d:
        b.start()
        a = Sipp("uac_wait_bye.xml", d.sip, service="+44123").start()
        both(a, b)
        check(re.search(r"ev=call_end \S+ reason=bye_from_callee",
                        d.logs()), "call_end", d.logs())
        st = d.request({"cmd": "status"})
        check(st["subsystems"]["media"]["ports_used"] == 0,
              "ports not released", st)


@t.test
def trunk_challenge_is_answered_with_digest():
    import hashlib
    b = callee("uas_digest_407.xml")
    with gateway(b, "    username: keepline\n    password: s3cret\n") as d:
        b.start()
        a = Sipp("uac_echo_rtp.xml", d.sip, service="+44123",
                 duration_ms=500).start()
        both(a, b)
        check("Trunk lab asked for credentials (407), sending them "
              "ev=bridge_auth" in d.logs(), "log", d.logs())
        # the digest on the wire, recomputed (RFC 2617 §3.2.2)
        m = re.search(r"Proxy-Authorization: Digest (.*)", b.messages())
        check(m, "no Proxy-Authorization reached the callee", b.report())
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', m.group(1)))
        md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
        ha1 = md5("keepline:%s:s3cret" % p["realm"])
        ha2 = md5("INVITE:%s" % p["uri"])
        want = md5("%s:%s:%s:%s:%s:%s" % (ha1, p["nonce"], p["nc"],
                                          p["cnonce"], p["qop"], ha2))
        check(p["username"] == "keepline" and p["response"] == want,
              "wrong digest", p, want)


@t.test
def delayed_offer_is_bridged():
    # the caller's INVITE has no SDP: the callee is offered all our
    # codecs, the caller gets in our 200 an offer of the callee's choice
    # (PCMU only here), and answers in its ACK
    b = callee("uas_answer_rtp.xml", duration_ms=3000)
    with gateway(b) as d:
        b.start()
        a = Sipp("uac_delayed_offer.xml", d.sip, service="+44123",
                 duration_ms=1000).start()
        both(a, b)
        check(re.search(r"m=audio \d+ RTP/AVP 0 8 101\r?\n", b.messages()),
              "the callee was offered all our codecs", b.messages())
        check(re.search(r"SIP/2.0 200 OK[\s\S]*m=audio \d+ RTP/AVP 0\r?\n",
                        a.messages()),
              "the caller was offered the callee's choice", a.messages())
        m = call_end_counts(d.logs())
        check(m and min(m) >= 80,
              "RTP both ways", d.logs())


@t.test
def callee_reinvite_without_sdp_gets_our_offer():
    b = Sipp("uas_reinvite_no_sdp.xml", None, duration_ms=500,
             extra=["-rtp_echo"])
    with gateway(b) as d:
        b.start()
        a = Sipp("uac_echo_rtp.xml", d.sip, service="+44123",
                 duration_ms=2000).start()
        both(a, b)
        check("ack_sdp_refused" not in d.logs(), "answer refused", d.logs())
        m = call_end_counts(d.logs())
        check(m and min(m) >= 80,
              "RTP both ways through the re-offer", d.logs())


@t.test
def tcp_trunk_carries_the_outbound_leg_over_tcp():
    # trunk transport: tcp; the caller comes over UDP, the callee (sipp
    # with -t t1) only hears TCP
    b = Sipp("uas_answer_rtp.xml", None, extra=["-rtp_echo", "-t", "t1"])
    y, ports = gateway_yaml(
        listen=("udp", "tcp"),
        trunks="  - {name: lab, addresses: [127.0.0.1], outbound_uri: "
        "\"sip:127.0.0.1:%d\",\n     transport: tcp}\n" % b.sip_port,
        routes="  - {match: \"+44*\", action: bridge, target: "
        "\"sip:uas@127.0.0.1:%d\", trunk: lab}\n" % b.sip_port, rtp=10)
    port = ports["tcp"]
    with Daemon(y) as d:
        b.start()
        a = Sipp("uac_echo_rtp.xml", "127.0.0.1:%d" % ports["udp"],
                 service="+44123", duration_ms=1000).start()
        both(a, b)
        got = b.messages()
        check(re.search(r"INVITE sip:uas@127\.0\.0\.1:%d SIP/2\.0\r?\n"
                        r"Via: SIP/2\.0/TCP " % b.sip_port, got),
              "the INVITE did not come over TCP", got[-3000:])
        check("Contact: <sip:127.0.0.1:%d;transport=tcp>" % port in got,
              "our Contact names TCP", got[-3000:])
        m = call_end_counts(d.logs())
        check(m and min(m) >= 40,
              "RTP both ways", d.logs())

    # Sofia sends only over what it listens on: no tcp: entry, an error
    sc = Scratch()
    conf = sc.file("k.yaml", """\
sip: {listen: ["udp:127.0.0.1:%d"]}
trunks: [{name: lab, outbound_uri: "sip:127.0.0.1:5060", transport: tcp}]
""" % port)
    r = run(["-c", conf, "check-config"])
    check(r.returncode == 2 and "trunks[0].transport: transport tcp needs "
          "a tcp: entry in sip.listen" in r.stderr, "check-config", r)


@t.test
def silent_callee_ends_both_legs():
    b = Sipp("uas_answer_rtp.xml", None)          # answers, sends no RTP
    with gateway(b, media="rtp_timeout: 2s") as d:
        b.start()
        t0 = time.monotonic()
        a = Sipp("uac_rtp_wait_bye.xml", d.sip, service="+44123").start()
        both(a, b)
        took = time.monotonic() - t0
        check(1.9 <= took <= 6, "BYE after %.2fs" % took)
        check("No RTP from the callee for 2000 ms, ending the call "
              "ev=rtp_timeout" in d.logs(), "log", d.logs())


@t.test
def trunk_registration_is_kept_refreshed():
    reg = Sipp("uas_registrar.xml", None).start()
    time.sleep(0.3)      # the gateway registers as soon as it starts
    with gateway(reg, "    register: true\n    username: keepline\n"
                 "    password: s3cret\n") as d:
        rc = reg.wait(timeout=30)
        check(rc == 0, "registrar sipp exit %d" % rc, reg.report())
        st = d.request({"cmd": "status"})["subsystems"]["sip"]
        regs = st.get("registrations", [])
        check(len(regs) == 1 and regs[0]["trunk"] == "lab" and
              regs[0]["state"] == "registered" and
              regs[0]["aor"] == "sip:keepline@127.0.0.1" and
              regs[0]["last_status"] == 200, "status", st)
        check(d.logs().count("ev=registered trunk=lab") >= 2,
              "no refresh logged", d.logs())


t.run()
