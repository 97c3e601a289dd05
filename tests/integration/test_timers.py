"""RFC 4028 session timers, one sipp scenario per behaviour (issue 4).

RFC 4028 puts the floor of an interval at 90 s, so these scenarios take
real minutes: every caller and callee starts at once against one gateway,
and each test below then waits for its own pair and checks it. The whole
file takes as long as its longest scenario (about two minutes).

Each scenario asserts the headers it receives (ereg check_it) and when
things arrive (a pause, then a recv with a short timeout: a message during
the pause is unexpected and fails the call). Callers come from loopback
addresses that select a trunk, and so that trunk's session_timer settings.
"""

import json
import re
import threading
import time

from kltest import TAP, Daemon, check, gateway_yaml, wait_for
from sippkit import Sipp

t = TAP()

# caller address -> trunk (inbound session_timer settings)
PLAIN, UPDATE, LONG, OFF = "127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4"

# name: (caller scenario, caller address, number dialled, -d ms,
#        callee scenario or None, the callee trunk's session_timer)
CASES = {
    "422": ("uac_timer_422.xml", PLAIN, "echo", 1000, None, ""),
    "420": ("uac_require_100rel_420.xml", PLAIN, "echo", 1000, None, ""),
    "raise": ("uac_timer_raise.xml", PLAIN, "echo", 1000, None, ""),
    "with_timer": ("uac_with_timer.xml", PLAIN, "echo", 1000, None, ""),
    "we_refresh": ("uac_timer_we_refresh.xml", PLAIN, "echo", 1000, None,
                   ""),
    "no_se": ("uac_timer_no_se.xml", PLAIN, "echo", 1000, None, ""),
    "plain": ("uac_timer_plain.xml", PLAIN, "echo", 1000, None, ""),
    "update": ("uac_timer_update.xml", UPDATE, "echo", 1000, None, ""),
    "errors": ("uac_timer_refresh_errors.xml", PLAIN, "echo", 1000, None,
               ""),
    "timeout": ("uac_timer_refresh_timeout.xml", PLAIN, "echo", 1000, None,
                ""),
    "disabled": ("uac_timer_disabled.xml", OFF, "+4406", 1000,
                 "uas_timer_disabled.xml", "{enabled: false}"),
    "out_422": ("uac_echo_rtp.xml", LONG, "+4401", 2000, "uas_timer_422.xml",
                "{default_expires: 100}"),
    "out_thrice": ("uac_timer_callee_refused.xml", LONG, "+4402", 1000,
                   "uas_timer_422_thrice.xml", "{default_expires: 100}"),
    "out_no_se": ("uac_echo_rtp.xml", LONG, "+4403", 4000,
                  "uas_timer_no_se.xml", ""),
    "out_expiry": ("uac_timer_wait_bye.xml", LONG, "+4404", 1000,
                   "uas_with_timer.xml", ""),
    "out_refresh": ("uac_echo_rtp.xml", LONG, "+4405", 52000,
                    "uas_timer_refresh.xml", ""),
}

LIMIT_S = 150   # the longest scenario runs about 112 s


class Rig:
    """The gateway, every sipp, and `keepline calls --json` sampled every
    half second while they run."""

    def __init__(self):
        self.callers, self.callees = {}, {}
        trunks, routes = [], []
        for name, (_, _, number, _, callee, st) in CASES.items():
            if not callee:
                continue
            b = Sipp(callee, None, timeout_s=LIMIT_S)
            self.callees[name] = b
            trunks.append(
                "  - {name: out_%s, outbound_uri: \"sip:127.0.0.1:%d\"%s}\n"
                % (name, b.sip_port,
                   ", session_timer: " + st if st else ""))
            routes.append(
                "  - {match: \"%s*\", action: bridge, target: "
                "\"sip:uas@127.0.0.1:%d\", trunk: out_%s}\n"
                % (number, b.sip_port, name))
        y, ports = gateway_yaml(
            trunks="""\
  - {name: plain, addresses: [%s]}
  - name: update
    addresses: [%s]
    session_timer: {prefer_refresher: uas, use_update: true}
  - {name: long, addresses: [%s], session_timer: {default_expires: 1800}}
  - {name: off, addresses: [%s], session_timer: {enabled: false}}
%s""" % (PLAIN, UPDATE, LONG, OFF, "".join(trunks)),
            routes="%s  - {match: \"*\", action: echo}\n" % "".join(routes),
            media="rtp_timeout: 300s", rtp=60,
            extra="session_timer: {default_expires: 90, min_se: 90}\n")
        self.d = Daemon(y)
        self.sip = "127.0.0.1:%d" % ports["udp"]
        self.samples = []
        self._stop = threading.Event()
        self.text = None

    def start(self):
        self.d.start()
        sip = self.sip
        for b in self.callees.values():
            b.start()
        time.sleep(0.3)   # callees bound before the first INVITE
        for name, (scn, ip, number, dur, _, _) in CASES.items():
            self.callers[name] = Sipp(scn, sip, service=number, local_ip=ip,
                                      duration_ms=dur,
                                      timeout_s=LIMIT_S).start()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.5):
            r = self.d.cli("calls", "--json")
            if r.returncode == 0:
                self.samples.append((time.monotonic(),
                                     json.loads(r.stdout)["calls"]))
            if self.text is None and time.monotonic() - self.started > 5:
                self.text = self.d.cli("calls").stdout

    def pair(self, name):
        """Wait for a case's sipps; both must have passed."""
        a = self.callers[name]
        ra = a.wait(timeout=LIMIT_S + 10)
        check(ra == 0, "caller %s exit %d" % (CASES[name][0], ra),
              a.report())
        b = self.callees.get(name)
        if b:
            rb = b.wait(timeout=LIMIT_S + 10)
            check(rb == 0, "callee %s exit %d" % (CASES[name][4], rb),
                  b.report())

    def call_ids(self, name):
        """The Call-IDs of a case's dialogs: its caller's (sipp's default,
        call 1 of that process on its address) and, bridged, ours to the
        callee (bridge_dial names it)"""
        ids = {"1-%d@%s" % (self.callers[name].proc.pid, CASES[name][1])}
        for m in re.finditer(r"ev=bridge_dial call_id=(\S+) "
                             r"out_call_id=(\S+)", self.d.logs()):
            if m.group(1) in ids:
                ids.add(m.group(2))
        return ids

    def seen(self, number):
        """Every sample of the call to number: [(time, call)]"""
        return [(ts, c) for ts, calls in self.samples for c in calls
                if c["to"] == number]

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        self.d.__exit__(None, None, None)


RIG = None


def rig():
    global RIG
    if RIG is None:
        RIG = Rig().start()
    return RIG


def log_lines(needle, name):
    """The log lines with needle of one case's dialogs only: sixteen run at
    once, and a phrase another dialog logs must not pass for this one's"""
    ids = rig().call_ids(name)
    out = []
    for ln in rig().d.logs().splitlines():
        m = re.search(r"(?<![\w])call_id=(\S+)", ln)
        if needle in ln and m and m.group(1) in ids:
            out.append(ln)
    return out


@t.test
def uas_422_below_min_se_then_200_without_min_se():
    rig().pair("422")   # behaviours 1 and 3
    check(log_lines("rejecting with 422 sessionExpires=60 minSE=90", "422"),
          "422 logged", rig().d.logs()[-3000:])


@t.test
def other_required_extension_gets_420():
    rig().pair("420")
    check(log_lines("Request requires what we do not support: 100rel",
                    "420"),
          "420 logged")


@t.test
def uas_raises_interval_for_uac_without_timers():
    rig().pair("raise")   # behaviours 1 and 2


@t.test
def uas_chooses_timer_when_uac_supports_but_asks_none():
    rig().pair("no_se")   # behaviours 4 and 8 (our BYE at 60 s)
    check(log_lines("Session timer expired, terminating call", "no_se"),
          "expiry logged")


@t.test
def uas_refresh_by_update_falls_back_to_reinvite_on_501():
    rig().pair("update")   # behaviour 6, use_update


@t.test
def uas_refresh_errors_491_422_408():
    rig().pair("errors")   # behaviour 9
    check(log_lines("Session refresh failed with 491", "errors") and
          log_lines("Session refresh failed with 408", "errors"),
          "refresh failures logged")


@t.test
def uas_unanswered_refresh_ends_call_at_expiry():
    rig().pair("timeout")   # behaviour 9: no answer at all


@t.test
def uac_422_retried_with_larger_min_se():
    rig().pair("out_422")   # behaviour 5
    check(log_lines("Negotiated session timer from response "
                    "sessionExpires=120 minSE=120 refresher=uas", "out_422"),
          "negotiation from response logged")


@t.test
def uac_422_retried_at_most_twice():
    rig().pair("out_thrice")   # behaviour 5: the caller got 500


@t.test
def uac_no_timer_when_2xx_has_no_session_expires():
    rig().pair("out_no_se")   # behaviour 5 (§7.4)
    legs = [c["legs"] for _, c in rig().seen("+4403")
            if len(c["legs"]) == 2 and c["legs"][1]["status"] == 200]
    check(legs, "the call was seen answered in `keepline calls`")
    check("session_timer" in legs[-1][0] and
          "session_timer" not in legs[-1][1],
          "timer on the caller's leg only", legs[-1])


@t.test
def uac_leg_expiry_byes_both_legs():
    rig().pair("out_expiry")   # behaviours 8 and 10


@t.test
def uac_leg_refreshed_with_491_retry_delay():
    rig().pair("out_refresh")   # behaviours 6 and 9 on the callee's leg
    seen = [c["legs"][1]["session_timer"] for _, c in rig().seen("+4405")
            if len(c["legs"]) == 2 and "session_timer" in c["legs"][1]]
    check(seen and seen[0]["we_are"] == "uac" and seen[0]["we_refresh"] and
          seen[0]["refresher"] == "uac" and seen[0]["next"] == "refresh",
          "callee leg shown as refreshed by us", seen[:1])


@t.test
def disabled_trunk_answers_but_never_cuts_or_asks():
    rig().pair("disabled")   # behaviour 11, both roles


@t.test
def uas_refreshes_at_half_interval_with_same_sdp():
    rig().pair("we_refresh")   # behaviours 2, 6, 7
    sts = [(ts, c["legs"][0]["session_timer"]) for ts, c in rig().seen("echo")
           if c["legs"][0].get("session_timer", {}).get("refresher") == "uas"
           and c["legs"][0]["session_timer"]["we_refresh"]]
    check(sts, "a call refreshed by us was seen in `keepline calls`")
    st = sts[0][1]
    check(st["interval_s"] == 90 and st["we_are"] == "uas" and
          st["next"] == "refresh" and 0 <= st["next_in_s"] <= 45,
          "session timer shown", st)
    check(rig().text and "timer 90s" in rig().text,
          "text `keepline calls` shows the timer", rig().text)
    for phrase in ("Started session timer sessionExpires=90 expiryWarning=60 "
                   "weAreRefresher=true",
                   "Sending session refresh method=INVITE sessionExpires=90",
                   "Session refresh successful sessionExpires=90 "
                   "weAreRefresher=true"):
        check(log_lines(phrase, "we_refresh"),
              "log line %r of this dialog" % phrase,
              "\n".join(log_lines("", "we_refresh")))


@t.test
def uas_refreshes_for_uac_without_timers():
    rig().pair("plain")   # behaviour 4


@t.test
def uas_expiry_rearmed_by_reinvite_and_update():
    rig().pair("with_timer")   # behaviours 7 and 8
    # the caller refreshes: we only receive, then cut it off at expiry
    # (our own refreshes are uas_refreshes_at_half_interval's dialog)
    for phrase in ("Negotiated session timer from INVITE sessionExpires=90 "
                   "minSE=90 refresher=uac",
                   "Started session timer sessionExpires=90 expiryWarning=60 "
                   "weAreRefresher=false",
                   "Session refresh received, reset expiry timer",
                   "Session timer expired, terminating call",
                   "Stopped session timer"):
        check(log_lines(phrase, "with_timer"),
              "log line %r of this dialog" % phrase,
              "\n".join(log_lines("", "with_timer")))


@t.test
def gateway_stops_cleanly():
    r = rig()
    wait_for(lambda: not r.d.calls(), 5, "no calls left", r.d.logs)
    r.stop()   # exit status 0 on SIGTERM (and no leak in the ASan build)


t.run()
