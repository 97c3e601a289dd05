"""The ICMP rig shared by tests/integration/test_icmp.py and
bench/dead-peer: keepline in namespace gw bridging calls from phones in
namespace ph to a callee that keeps talking, so that keepline keeps sending
RTP to a phone after it dies."""

import json
import os
import subprocess
import time

from kltest import (SRCDIR, Daemon, _started, check, gateway_yaml, log_time,
                    stop, wait_for)
from nettools import Lan
from sippkit import Sipp

NETTOOLS = os.path.join(SRCDIR, "tests", "integration", "nettools.py")
SIP_PORT = 5060


class Rig:
    """keepline in ns gw bridging +44... from the phones to a callee."""

    def __init__(self, lan, icmp="", calls=1, user=None, media="", extra=""):
        self.lan = lan
        # phones call over IPv6 when the LAN has it; the callee stays on
        # 127.0.0.1, so a bridge then joins an IPv6 leg to an IPv4 one
        self.gw = "[%s]" % Lan.GW6 if lan.v6 else Lan.GW
        listen = ["udp:%s:%d" % (self.gw, SIP_PORT)]
        if lan.v6:   # SIP to the callee needs an IPv4 transport too
            listen.append("udp:127.0.0.1:%d" % SIP_PORT)
        self.callee = Sipp("uas_answer_talk.xml", None, calls=calls,
                           netns=lan["gw"])
        wrap = lan["gw"].wrap([])
        if user:
            wrap += ["setpriv", "--reuid=%s" % user, "--regid=%s" % user,
                     "--clear-groups", "--inh-caps=-all"]
        y, _ = gateway_yaml(
            listen=listen,
            trunks="  - name: lab\n"
            "    addresses: [10.77.0.0/24, \"fd77::/64\", 127.0.0.1]\n"
            "    outbound_uri: sip:127.0.0.1:%d\n" % self.callee.sip_port,
            routes="  - {match: \"+44*\", action: bridge, target: "
            "\"sip:uas@127.0.0.1:%d\",\n     trunk: lab}\n"
            % self.callee.sip_port,
            # media: more keys, written indented by the callers
            media="\n".join(ln[2:] for ln in media.splitlines()),
            extra="icmp:\n%s%s" % (icmp or "  enabled: true\n", extra))
        self.d = Daemon(y, wrap=wrap)
        if user:
            os.chmod(self.d.scratch.path, 0o777)
        self.callers, self.phones = [], []

    def __enter__(self):
        self.d.start()
        self.callee.start()
        return self

    def __exit__(self, *exc):
        for p in self.phones:
            stop(p)
        self.d.__exit__(*exc)

    def call(self, rtp_port, phone=(), scenario="uac_phone_wait_bye.xml",
             secs=60):
        """A caller in ns ph whose RTP comes from port rtp_port (phone:
        nettools rtp options); returns (sipp, phone process, Call-ID)
        once RTP flows both ways."""
        ph = self.lan["ph"]
        ip = "[%s]" % ph.ip6 if self.lan.v6 else ph.ip
        known = {c["call_id"] for c in self.d.calls()}
        # the phone listens before the call: a closed port is a dead peer
        phone = subprocess.Popen(ph.wrap(
            ["python3", NETTOOLS, "rtp", "%s:%d" % (ip, rtp_port),
             str(secs)] + list(phone)),
            stdout=subprocess.PIPE, text=True)
        _started.append(phone)
        self.phones.append(phone)
        check(phone.stdout.readline().strip() == "ready", "phone listens")
        a = Sipp(scenario, "%s:%d" % (self.gw, SIP_PORT),
                 service="+442079460000", local_ip=ip.strip("[]"), netns=ph,
                 extra=["-key", "rtp_port", str(rtp_port)]).start()
        self.callers.append(a)
        try:
            call = wait_for(lambda: [c for c in self.d.calls()
                                     if c["call_id"] not in known and
                                     c["state"] == "confirmed"], 10,
                            "call up")[0]
        except AssertionError:
            check(False, "no call up", a.report(), self.d.logs()[-3000:])

        def flowing():
            c = [c for c in self.d.calls() if c["call_id"] == call["call_id"]]
            m = c[0]["legs"][0]["media"] if c else {}
            return m.get("rx_packets", 0) > 5 and m.get("tx_packets", 0) > 5
        wait_for(flowing, 5, "RTP both ways on the caller's leg")
        return a, phone, call["call_id"]

    def legs(self, call_id):
        """The media of each leg of call_id: caller's, then callee's."""
        call = [c for c in self.d.calls() if c["call_id"] == call_id]
        return [l["media"] for l in call[0]["legs"]] if call else []

    def media_local(self, call_id):
        """Keepline's RTP address on the caller's leg of call_id."""
        call = [c for c in self.d.calls() if c["call_id"] == call_id][0]
        return call["legs"][0]["media"]["local"]

    def status_icmp(self):
        r = self.d.cli("status", "--json")
        check(r.returncode == 0, "status", r.stderr)
        return json.loads(r.stdout)["subsystems"]["icmp"]


def closed_at(d, call_id, timeout):
    """When keepline logged closing call_id because of ICMP."""
    needle = "Closed peer connection for %s due to ICMP errors" % call_id
    d.wait_log(needle, timeout)
    line = [l for l in d.logs().splitlines() if needle in l][0]
    return log_time(line)


def kill_phone(phone):
    t0 = time.time()
    stop(phone)
    return t0


