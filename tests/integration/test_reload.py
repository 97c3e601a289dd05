"""Reload (SIGHUP and `keepline reload`): new calls follow the new file,
established calls keep theirs, and a broken file changes nothing.

Five callers hold calls whose session timer the gateway refreshes (90 s,
refresher uas: our re-INVITE at 45 s and 90 s, each checked by the
scenario); the routes and a trunk's addresses change under them. The
file takes as long as those calls, about 95 s."""

import json
import os
import re
import signal

import kltest
from kltest import TAP, Daemon, check, wait_for
from sippkit import Sipp

t = TAP()

BASE = int(kltest.rtp_ports(30).split("-")[0])

CONF = """\
sip:
  listen: [udp:127.0.0.1:%(port)d]
trunks:
  - name: lab
    addresses: [%(addresses)s]
routes:
%(routes)s
media:
  rtp_ports: %(first)d-%(last)d
  rtp_timeout: 10m       # the held calls send no RTP
"""

BEFORE = dict(addresses="127.0.0.1", routes="  - {match: echo, action: echo}",
              first=BASE, last=BASE + 29)
# echo refused now; the trunk also admits 127.0.1.9; the port range
# needs a restart
AFTER = dict(addresses="127.0.0.1, 127.0.1.9",
             routes="  - {match: echo, action: reject, code: 486}",
             first=BASE, last=BASE + 27)
BROKEN = dict(AFTER, routes="  - {match: echo, action: bounce}")
# valid YAML asking for a module this build lacks: the daemon refuses it
REFUSED = dict(AFTER, routes="  - {match: echo, action: echo}\n"
               "icmp_relay: {enabled: true}")


def write(d, port, values):
    with open(d.conf, "w") as f:
        f.write("control:\n  socket: %s\n" % d.sock)
        f.write(CONF % dict(values, port=port))


def call(d, scenario, ip="127.0.0.1"):
    s = Sipp(scenario, d.sip, local_ip=ip).start()
    check(s.wait(20) == 0, "%s from %s" % (scenario, ip), s.report(),
          d.logs()[-3000:])


@t.test
def reload_applies_to_new_calls_and_keeps_the_established_ones():
    port = kltest._free_udp_port()
    d = Daemon(CONF % dict(BEFORE, port=port))
    d.sip = "127.0.0.1:%d" % port
    with d:
        held = Sipp("uac_timer_we_refresh.xml", d.sip, calls=5,
                    timeout_s=150).start()
        wait_for(lambda: len(d.calls()) == 5, 15, "five calls up", d.logs,
                 held.report)
        ids = sorted(c["call_id"] for c in d.calls())
        call(d, "uac_forbidden_403.xml", ip="127.0.1.9")

        write(d, port, AFTER)
        r = d.cli("reload")
        check(r.returncode == 0, "reload exit %d" % r.returncode, r.stderr,
              d.logs()[-2000:])
        check(re.search(r"^applied to new calls:\n(  .*\n)*  routes\[0\]"
                        r"\.action\n", r.stdout, re.M) and
              "  trunks[0].addresses\n" in r.stdout,
              "routes and trunk addresses applied", r.stdout)
        waits = r.stdout.split("waiting for a restart:\n")[-1]
        check("  media.rtp_ports (read when the daemon starts)\n" in waits,
              "rtp_ports waits", r.stdout)
        # 127.0.1.9 is one host: netwatch would probe it, after a restart
        check("  trunks[0].probe (netwatch probes the trunk paths it "
              "started with)\n" in waits, "the new path waits", r.stdout)
        d.wait_log("ev=reload config=%s applied=" % d.conf)

        # the five are untouched; new calls follow the new file
        check(sorted(c["call_id"] for c in d.calls()) == ids,
              "the established calls changed", d.calls())
        call(d, "uac_reject_486.xml")
        call(d, "uac_reject_486.xml", ip="127.0.1.9")

        # a broken file: every error with its position, nothing changes
        write(d, port, BROKEN)
        r = d.cli("reload")
        check(r.returncode == 2 and
              re.search(r"^%s:\d+:\d+: routes\[0\]\.action: 'bounce'"
                        % re.escape(d.conf), r.stderr, re.M) and
              "the daemon keeps its running configuration" in r.stderr,
              "broken file refused by the CLI", r.returncode, r.stderr)
        d.send_signal(signal.SIGHUP)
        d.wait_log("Configuration not reloaded, keeping the running one")
        check(re.search(r"Configuration error: %s:\d+:\d+: routes\[0\]"
                        r"\.action: 'bounce'" % re.escape(d.conf), d.logs()),
              "error logged with its position", d.logs()[-2000:])
        write(d, port, REFUSED)
        r = d.cli("reload")
        check(r.returncode == 1 and
              "1 error(s) in the file: the running configuration is kept"
              in r.stderr and
              re.search(r"^%s:\d+:\d+: icmp_relay\.enabled: the ICMP relay "
                        r"is not in this build$" % re.escape(d.conf), r.stderr,
                        re.M), "refused by the daemon", r.returncode,
              r.stderr)
        call(d, "uac_reject_486.xml", ip="127.0.1.9")
        check(len(d.calls()) == 5, "the five calls are still up", d.calls())

        # the five end as their scenario says: refreshed at 45 s and 90 s
        rc = held.wait(150)
        check(rc == 0, "held calls: sipp exit %d" % rc, held.report(),
              d.logs()[-3000:])
        st = json.loads(d.cli("status", "--json").stdout)
        timers = st["subsystems"]["session_timer"]
        check(timers["refreshes_sent"] >= 10, "refreshes sent", timers)
        check(timers["expiries"] == 0, "no expiry", timers)


@t.test
def reload_without_a_file_says_so():
    with Daemon() as d:
        os.unlink(d.conf)
        r = d.cli("reload")
        check(r.returncode != 0 and "cannot read" in r.stderr,
              "reload of a vanished file", r.returncode, r.stderr)
        check(d.request({"cmd": "status"})["ok"], "daemon gone")


t.run()
