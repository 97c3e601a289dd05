"""The docker-compose rig (docker/), run for real with Debian's docker.io.

Not part of `make check` (the images build Keepline again inside a
container): `make check-compose`, which `./setup.sh test` runs once. It
starts dockerd if none runs (and stops what it started), makes the
`debian:12` base image from the Debian archive with debootstrap when it is
missing (an image label is the marker), brings the rig up, and asserts on
what the sipp containers and Keepline report: the 10 bridged calls with
RTP both ways, session timer refreshes on both legs of a timed call, and a
dead caller's call ended from ICMP within a second. Everything is brought
down at the end, containers, network and volume, also when a check fails.
Where dockerd cannot run, the test says so and is skipped."""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from kltest import SRCDIR, TAP, Skip, check, need_root, wait_for

t = TAP()

DOCKER = shutil.which("docker", path="/usr/bin:/usr/local/bin") or "docker"
COMPOSE = shutil.which("docker-compose")
FILE = os.path.join(SRCDIR, "docker", "docker-compose.yml")
PROJECT = "keeplinerig"
BASE = "debian:12"
MARK = "org.keepline.base=debootstrap-bookworm-minbase"


def sh(args, timeout, check_rc=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check_rc and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s\n%s" % (
            " ".join(args[:4]), r.returncode, r.stdout[-3000:],
            r.stderr[-3000:]))
    return r


def compose(*args, timeout=120, check_rc=True):
    return sh([COMPOSE, "-f", FILE, "-p", PROJECT, "--profile", "timers",
               "--profile", "dead-peer"] + list(args), timeout,
              check_rc=check_rc)


class Engine:
    """dockerd: the running one, or one started here and stopped after."""

    def __init__(self):
        self.proc = None
        self.log = None

    def up(self):
        if sh([DOCKER, "info"], 20, check_rc=False).returncode == 0:
            return
        if not shutil.which("dockerd"):
            raise Skip("no dockerd (setup.sh installs docker.io)")
        self.log = tempfile.NamedTemporaryFile("w+", prefix="dockerd-",
                                               suffix=".log")
        self.proc = subprocess.Popen(["dockerd"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise Skip("dockerd cannot run here (exit %d): %s" % (
                    self.proc.returncode, self.log.read()[-500:]))
            if sh([DOCKER, "info"], 10, check_rc=False).returncode == 0:
                return
            time.sleep(0.5)
        self.down()
        raise Skip("dockerd did not answer within 30 s")

    def down(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def base_image():
    """debian:12 from debootstrap, unless one is there already."""
    r = sh([DOCKER, "image", "inspect", BASE], 20, check_rc=False)
    if r.returncode == 0:
        return "present"
    if not shutil.which("debootstrap"):
        raise Skip("no debootstrap (setup.sh installs it)")
    root = tempfile.mkdtemp(prefix="keepline-bookworm-")
    try:
        sh(["debootstrap", "--variant=minbase", "bookworm", root,
            "http://deb.debian.org/debian"], 600)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."],
                               stdout=subprocess.PIPE)
        sh([DOCKER, "import", "--change", "LABEL " + MARK, "-", BASE], 300,
           stdin=tar.stdout)
        tar.wait(60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return "made"


def container(service):
    r = compose("ps", "-q", service, timeout=30)
    cid = r.stdout.strip()
    check(cid, "no container for %s" % service)
    return cid


def wait_exit(service, timeout):
    """Exit status of a service's container once it has stopped."""
    cid = container(service)
    r = sh([DOCKER, "wait", cid], timeout + 10)
    return int(r.stdout.strip())


def logs(service):
    return re.sub(r"\x1b\[[0-9;]*m", "",
                  compose("logs", "--no-color", service, timeout=60).stdout)


def calls():
    r = compose("exec", "-T", "keepline", "keepline", "calls", "--json",
                timeout=20, check_rc=False)
    return json.loads(r.stdout)["calls"] if r.returncode == 0 else []


def sipp_counter(text, name):
    m = re.findall(r"%s\s*\|\s*\d+\s*\|\s*(\d+)" % re.escape(name), text)
    return int(m[-1]) if m else -1


@t.test
def compose_rig_calls_timers_and_dead_peer():
    need_root("dockerd runs as root")
    if not COMPOSE:
        raise Skip("no docker-compose (setup.sh installs it)")
    engine = Engine()
    engine.up()
    t0 = time.monotonic()
    try:
        made = base_image()
        compose("down", "-v", "--remove-orphans", timeout=120,
                check_rc=False)
        compose("build", timeout=900)
        built = time.monotonic() - t0

        # 1. the default services: 10 bridged calls, RTP echoed back
        # the callees start here, well before their callers call: one not
        # listening yet answers the bridged INVITE with an ICMP port
        # unreachable, and the caller gets 503 (seen in clean runs)
        compose("up", "-d", "keepline", "sipp-uas", "timer-uas", "talker",
                "sipp-uac", timeout=120)
        wait_for(lambda: any(len(c["legs"]) == 2 and
                             c["legs"][1]["media"].get("rx_packets")
                             for c in calls()), 30,
                 "a bridged call with RTP from the callee",
                 lambda: logs("keepline")[-3000:])
        # 2. and beside them, the timed call and the doomed one
        compose("up", "-d", "timer-uac", "phone-host", "phone",
                timeout=120)

        check(wait_exit("sipp-uac", 120) == 0, "sipp-uac failed",
              logs("sipp-uac")[-3000:])
        uac = logs("sipp-uac")
        ok, failed = (sipp_counter(uac, "Successful call"),
                      sipp_counter(uac, "Failed call"))
        check(ok == 10 and failed == 0, "sipp-uac: %d ok, %d failed"
              % (ok, failed), uac[-2000:])
        check(wait_exit("sipp-uas", 60) == 0, "sipp-uas",
              logs("sipp-uas")[-3000:])
        ended = re.findall(r"ev=call_end call_id=\S+@172\.28\.0\.30 "
                           r"reason=(\S+) duration_ms=\d+ rx_packets=(\d+) "
                           r"tx_packets=(\d+)", logs("keepline"))
        check(len(ended) == 10 and all(int(rx) > 100 and int(tx) > 100
                                       for _, rx, tx in ended),
              "10 calls with RTP both ways", ended)

        # 3. the dead peer: phone's call up, phone killed, call ended
        wait_for(lambda: any(c["trunk"] == "dead-peer-rig" and
                             c["state"] == "confirmed" for c in calls()),
                 30, "phone's call", lambda: logs("keepline")[-3000:])
        killed = time.time()
        compose("kill", "phone", timeout=30)
        m = wait_for(lambda: re.search(
            r"^keepline_1\s+\| (\S+) INFO sip: Call ended \(icmp\) "
            r"ev=call_end call_id=(\S+@172\.28\.0\.60)", logs("keepline"),
            re.M), 10, "the dead caller's call ended from ICMP",
            lambda: logs("keepline")[-3000:])
        when = datetime.datetime.strptime(
            m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        check(when - killed < 1.0, "call ended %.3f s after the kill"
              % (when - killed))
        check(wait_exit("talker", 30) == 0, "talker got no BYE",
              logs("talker")[-3000:])
        dead_s = when - killed

        # 4. the timed call: both legs refreshed, both sipps satisfied
        check(wait_exit("timer-uac", 150) == 0, "timer-uac",
              logs("timer-uac")[-3000:], logs("keepline")[-3000:])
        check(wait_exit("timer-uas", 30) == 0, "timer-uas",
              logs("timer-uas")[-3000:])
        klog = logs("keepline")
        # the timed call is the only one that lives 45 s; its callee leg
        # has a Call-ID of Keepline's own
        sent = re.findall(r"ev=st_refresh_send call_id=\S+ "
                          r"leg=(caller|callee) ", klog)
        check(sent.count("caller") >= 2 and sent.count("callee") >= 2,
              "refreshes on both legs", sent)

        # 5. Keepline stops cleanly
        compose("stop", "-t", "10", "keepline", timeout=60)
        cid = container("keepline")
        state = json.loads(sh([DOCKER, "inspect", cid], 20).stdout)[0]
        check(state["State"]["ExitCode"] == 0, "keepline exit",
              state["State"])
        print("# base image %s; images built in %.0f s; rig done in %.0f s"
              % (made, built, time.monotonic() - t0))
        print("# sipp-uac: %d successful, %d failed; refreshes sent %d on "
              "the caller's leg, %d on the callee's; dead caller's call "
              "ended %.0f ms after the kill"
              % (ok, failed, sent.count("caller"), sent.count("callee"),
                 dead_s * 1000))
    finally:
        compose("down", "-v", "--remove-orphans", "-t", "5", timeout=180,
                check_rc=False)
        engine.down()


t.run()
