"""Mid-call changes across a bridge: hold and unhold from either side, a
codec change, a far-end refusal, glare on each leg; INFO, REFER and NOTIFY
inside a bridged call. sipp on both sides of the built gateway; RTP
counted on the wire, per phase, between the gateway's own log lines."""

import re
import sys
import time

from kltest import (TAP, Daemon, check, gateway_yaml, log_time, need_root,
                    wait_for)
from sippkit import Capture, RawUac, Sipp

t = TAP()


def gateway(callee):
    y, ports = gateway_yaml(
        trunks="  - name: lab\n    addresses: [127.0.0.1]\n"
        "    outbound_uri: sip:127.0.0.1:%d\n" % callee.sip_port,
        routes="  - {match: \"+44*\", action: bridge, target: "
        "\"sip:uas@127.0.0.1:%d\", trunk: lab}\n" % callee.sip_port,
        rtp=40)
    d = Daemon(y)
    d.sip = "127.0.0.1:%d" % ports["udp"]
    return d


def both(a, b, d):
    ra, rb = a.wait(), b.wait()
    check(ra == 0 and rb == 0, "sipp exits: caller %d, callee %d" % (ra, rb),
          "== caller", a.report(), "== callee", b.report(), d.logs())


def log_times(logs, event):
    """Wall-clock times of each log line with ev=event"""
    return [log_time(ln) for ln in logs.splitlines()
            if re.search(r" ev=%s\b" % event, ln)]


def note(text):
    """A figure for the record: a TAP comment"""
    print("# " + text)
    sys.stdout.flush()


class Clock:
    """Capture stamps packets with time.monotonic(); the log with the wall
    clock: this maps one onto the other"""

    def __init__(self):
        self.off = time.time() - time.monotonic()

    def count(self, cap, sport, dport, start, end):
        return sum(1 for x in cap.times.get((sport, dport), [])
                   if start <= x + self.off < end)


def bridged_ports(d, *sipps):
    def up():
        cs = d.calls()
        if cs and len(cs[0]["legs"]) == 2 and \
                cs[0]["legs"][1].get("media", {}).get("rx_packets"):
            return cs[0]
    c = wait_for(up, 5, "a bridged call with RTP", d.logs,
                 *[s.report for s in sipps])
    return [int(leg["media"]["local"].rsplit(":", 1)[1])
            for leg in c["legs"]]


def directions(d):
    cs = d.calls()
    return [leg["media"]["direction"] for leg in cs[0]["legs"]] if cs else []


def origins(messages, sent_by_us):
    """The o= lines of the SDPs a sipp log shows the gateway sent: our
    session id must stay, our version go up (RFC 3264 §8)"""
    out = []
    for block in messages.split("-----------------------------------------"
                                "------"):
        if "message received" not in block:
            continue
        m = re.search(r"(?m)^o=(\S+) (\d+) (\d+) ", block)
        if m and m.group(1) == sent_by_us:
            out.append((m.group(2), int(m.group(3))))
    return out


def received_at(messages, first_line):
    """Times (wall clock) at which sipp received messages starting so"""
    out = []
    for m in re.finditer(r"-{20,} (\S+ \S+)\n\S+ message received "
                         r"\[\d+\] bytes :\n\n" + re.escape(first_line),
                         messages):
        day, clock = m.group(1).split(" ")
        secs, frac = clock.split(".")
        out.append(time.mktime(time.strptime(day + " " + secs,
                                             "%Y-%m-%d %H:%M:%S")) +
                   float("0." + frac))
    return out


@t.test
def caller_hold_unhold_and_codec_change_cross_the_bridge():
    need_root("capturing RTP on lo needs root")
    b = Sipp("uas_bridge_reoffer.xml", None, duration_ms=1500,
             extra=["-rtp_echo"])
    clock = Clock()
    with gateway(b) as d, Capture() as cap:
        b.start()
        a = Sipp("uac_bridge_reoffer.xml", d.sip, service="+442079460000",
                 duration_ms=1500).start()
        a_port, b_port = bridged_ports(d, a, b)
        wait_for(lambda: log_times(d.logs(), "reoffer_relayed"), 5,
                 "the hold carried across", d.logs)
        held = directions(d)
        both(a, b, d)
        logs = d.logs()

        hold, unhold = (log_times(logs, "reoffer_relayed") + [0, 0])[:2]
        check(unhold - hold > 1.0, "two re-offers carried", logs)
        # the callee is held: sipp's echo keeps coming, none reaches the
        # caller; the caller's audio still reaches the callee
        ph2 = (hold + 0.2, unhold - 0.1)
        ph3 = (unhold + 0.2, unhold + 1.3)
        c = {k: clock.count(cap, s, t, *ph) for k, s, t, ph in (
            ("up2", a.media_port, a_port, ph2),
            ("out2", b_port, b.media_port, ph2),
            ("echo2", b.media_port, b_port, ph2),
            ("down2", a_port, a.media_port, ph2),
            ("down3", a_port, a.media_port, ph3),
            ("out3", b_port, b.media_port, ph3))}
        note("caller hold, packets per phase: %s" % c)
        check(c["up2"] >= 40 and c["out2"] >= 40 and c["echo2"] >= 40,
              "during the hold the caller's RTP flows on: %s" % c)
        check(c["down2"] <= 2, "the held callee's RTP reached the caller: "
              "%s" % c)
        check(c["down3"] >= 40 and c["out3"] >= 40,
              "after the unhold RTP flows both ways: %s" % c)
        check(held == ["sendonly", "recvonly"],
              "keepline calls during the hold: %s" % held)

        # our o= on each leg: one session id, a new version per offer
        for who, msgs in (("-", b.messages()), ("-", a.messages())):
            o = origins(msgs, who)
            check(len(o) >= 3 and len(set(s for s, _ in o)) == 1 and
                  all(o[i][1] < o[i + 1][1] for i in range(len(o) - 1)),
                  "o= lines: %s" % o)
        check(re.search(r"ev=refer_declined call_id=1-\S+ leg=caller", logs),
              "refer_declined logged", logs)


@t.test
def callee_hold_reaches_the_caller():
    need_root("capturing RTP on lo needs root")
    b = Sipp("uas_bridge_hold.xml", None, duration_ms=1500,
             extra=["-rtp_echo"])
    clock = Clock()
    with gateway(b) as d, Capture() as cap:
        b.start()
        a = Sipp("uac_bridge_held.xml", d.sip, service="+442079460000",
                 duration_ms=1500).start()
        a_port, b_port = bridged_ports(d, a, b)
        both(a, b, d)
        logs = d.logs()
        hold, unhold = (log_times(logs, "reoffer_relayed") + [0, 0])[:2]
        check(unhold - hold > 1.0, "two re-offers carried", logs)
        check(re.search(r"ev=reoffer_relayed \S+ from=callee to=caller "
                        r"direction=sendonly far_direction=recvonly", logs),
              "the hold from the callee", logs)
        ph2 = (hold + 0.2, unhold - 0.1)
        ph3 = (unhold + 0.2, unhold + 1.0)
        up2 = clock.count(cap, a.media_port, a_port, *ph2)
        out2 = clock.count(cap, b_port, b.media_port, *ph2)
        out3 = clock.count(cap, b_port, b.media_port, *ph3)
        note("callee hold: caller sent %d, callee got %d on hold, %d after"
             % (up2, out2, out3))
        check(up2 >= 40, "the caller kept sending: %d" % up2)
        check(out2 <= 2, "the callee on hold got %d packets" % out2)
        check(out3 >= 30, "after the unhold the callee gets RTP: %d" % out3)


@t.test
def far_refusal_answers_the_same_and_keeps_media():
    need_root("capturing RTP on lo needs root")
    b = Sipp("uas_bridge_488.xml", None, duration_ms=1500,
             extra=["-rtp_echo"])
    clock = Clock()
    with gateway(b) as d, Capture() as cap:
        b.start()
        a = Sipp("uac_bridge_reoffer_refused.xml", d.sip,
                 service="+442079460000", duration_ms=1500).start()
        a_port, b_port = bridged_ports(d, a, b)
        wait_for(lambda: log_times(d.logs(), "reoffer_refused"), 5,
                 "the refusal", d.logs)
        after = directions(d)
        both(a, b, d)
        logs = d.logs()
        check(re.search(r"ev=reoffer_refused \S+ from=caller to=callee "
                        r"status=488", logs), "reoffer_refused", logs)
        t0 = log_times(logs, "reoffer_refused")[0]
        down = clock.count(cap, a_port, a.media_port, t0 + 0.2, t0 + 1.3)
        out = clock.count(cap, b_port, b.media_port, t0 + 0.2, t0 + 1.3)
        note("after the 488: %d to the caller, %d to the callee" % (down, out))
        check(down >= 40 and out >= 40,
              "RTP both ways after the refusal: %d, %d" % (down, out))
        check(after == ["sendrecv", "sendrecv"],
              "media as before: %s" % after)


def glare(caller, callee, glared, invites, lo, hi, sender):
    """Run a glare pair; the retry on the glared leg ("caller" or
    "callee") must come lo to hi seconds after the INVITE it answered 491
    (the last two of the invites that leg's sipp received)"""
    b = Sipp(callee, None, duration_ms=1000, extra=["-rtp_echo"])
    with gateway(b) as d:
        b.start()
        a = Sipp(caller, d.sip, service="+44123", duration_ms=1000).start()
        both(a, b, d)
        msgs = (a if glared == "caller" else b).messages()
        ts = received_at(msgs, "INVITE sip:")
        check(len(ts) == invites, "%d INVITEs on the %s's leg: %s"
              % (invites, glared, ts), msgs[-4000:])
        gap = ts[-1] - ts[-2]
        note("%s leg: tried again after %.3f s" % (glared, gap))
        check(lo <= gap <= hi, "retry after %.3f s" % gap)
        check(re.search(r"ev=reoffer_relayed \S+ from=%s" % sender,
                        d.logs()), "relayed once the retry was answered",
              d.logs())


@t.test
def glare_on_the_callee_leg_is_tried_again_in_2_1_to_4_s():
    # the dial, the caller's hold carried over, and its retry; we own
    # this leg's Call-ID
    glare("uac_bridge_hold_once.xml", "uas_bridge_491.xml", "callee", 3,
          2.05, 4.1, "caller")


@t.test
def glare_on_the_caller_leg_both_ways():
    # the callee's hold carried over and its retry; the caller owns it
    glare("uac_bridge_glare.xml", "uas_bridge_hold_once.xml", "caller", 2,
          0, 2.1, "callee")


@t.test
def a_media_move_reaches_the_callee_and_rtp_follows():
    """The caller re-INVITEs with another port (o= version 2): the callee
    is offered again, and the callee's RTP, relayed, goes to the new port
    at once, without a packet from the caller to latch on"""
    import socket
    b = Sipp("uas_bridge_move.xml", None, duration_ms=1000)
    with gateway(b) as d:
        b.start()
        time.sleep(0.3)   # the callee bound before our INVITE
        ua = RawUac(int(d.sip.rsplit(":", 1)[1]), "+44123", "move-call")
        new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            new.bind(("127.0.0.1", 0))
            new.settimeout(0.2)
            ua.send("INVITE", 1, ua.sdp())
            ok = ua.final()
            check(ok.startswith("SIP/2.0 200 "), "answered", ok, d.logs())
            ua.send("ACK", 1)
            before = count_rtp(ua.sock, 1.0)
            moved = ua.sdp().replace("o=t 1 1", "o=t 1 2").replace(
                "m=audio %d " % ua.port, "m=audio %d " % new.getsockname()[1])
            ua.send("INVITE", 2, moved)
            ok = ua.final()
            check(ok.startswith("SIP/2.0 200 "), "re-INVITE answered", ok,
                  d.logs())
            ua.send("ACK", 2)
            after_new = count_rtp(new, 1.0)
            after_old = count_rtp(ua.sock, 0.3)
            note("media move: %d to the old port before, %d to the new "
                 "after, %d to the old after" % (before, after_new,
                                                 after_old))
            check(before >= 30 and after_new >= 30 and after_old <= 2,
                  "RTP follows the move: %d, %d, %d"
                  % (before, after_new, after_old), d.logs())
            check(re.search(r"ev=reoffer_relayed \S+ from=caller to=callee",
                            d.logs()), "the callee was asked", d.logs())
            ua.send("BYE", 3)
            ua.final()
        finally:
            new.close()
            ua.close()
        rb = b.wait()
        check(rb == 0, "callee sipp exit %d" % rb, b.report())


def count_rtp(sock, seconds):
    """RTP packets read on sock for so long (SIP skipped)"""
    n, end = 0, time.monotonic() + seconds
    sock.settimeout(0.05)
    while time.monotonic() < end:
        try:
            data = sock.recv(2048)
        except OSError:
            continue
        if data[:1] == b"\x80":
            n += 1
    sock.settimeout(5)
    return n


@t.test
def telephone_events_pass_both_ways_unchanged():
    """RFC 4733 DTMF in RTP: a caller's telephone-event packets reach the
    callee (sipp echoing) and come back, payload type and bytes intact"""
    import struct
    b = Sipp("uas_answer_rtp.xml", None, duration_ms=3000,
             extra=["-rtp_echo"])
    with gateway(b) as d:
        b.start()
        time.sleep(0.3)   # the callee bound before our INVITE
        ua = RawUac(int(d.sip.rsplit(":", 1)[1]), "+44123", "dtmf-call")
        try:
            sdp = ua.sdp().replace("RTP/AVP 0\r\n", "RTP/AVP 0 101\r\n") + \
                "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
            ua.send("INVITE", 1, sdp)
            ok = ua.final()
            check(ok.startswith("SIP/2.0 200 "), "answered", ok, d.logs())
            ua.send("ACK", 1)
            ours = int(re.search(r"m=audio (\d+)", ok).group(1))
            sent, back = [], []
            for seq in range(20):
                # event 5, volume 10, duration growing (RFC 4733 §2.3)
                pkt = struct.pack("!BBHII", 0x80, 101, seq, 8000, 4242) + \
                    struct.pack("!BBH", 5, 10, 160 * (seq + 1))
                sent.append(pkt)
                ua.sock.sendto(pkt, ("127.0.0.1", ours))
                time.sleep(0.02)
            deadline = time.monotonic() + 2
            ua.sock.settimeout(0.2)
            while time.monotonic() < deadline and len(back) < 20:
                try:
                    data = ua.sock.recv(2048)
                except OSError:
                    continue
                if data[:1] == b"\x80" and data[1] & 0x7F == 101:
                    back.append(data)
            note("telephone-event: %d sent, %d back" % (len(sent),
                                                       len(back)))
            check(len(back) >= 18 and all(p in sent for p in back),
                  "events back unchanged: %d of %d" % (len(back), len(sent)))
            ua.send("BYE", 2)
            ua.final()
        finally:
            ua.close()
        b.wait()


t.run()
