"""Hostile and broken peers: what a trunk endpoint facing the Internet
must survive. Each test drives the built keepline against real peers
(sipp, raw sockets) and checks what a user would see: the message on the
wire, the daemon still answering, the exit status.

No DNS on the one thread (docs/operator-guide.md, "No DNS"):

  ns ph (10.77.0.2)  sipp callers naming hosts that cannot be resolved
  ns gw (10.77.0.1)  keepline, whose resolv.conf names a nameserver that
                     never answers (10.77.0.99: nobody has that address)
                     or one it has no route to (192.0.2.53)
"""

import shutil
import threading
import time

import kltest
from kltest import TAP, Daemon, Skip, check, wait_for
from nettools import Lan
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


if __name__ == "__main__":
    t.run()
