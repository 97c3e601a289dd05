"""Helpers for Keepline integration tests: TAP output, the real binary,
daemons started and stopped by PID, scratch directories that always go.

Every wait is bounded; every process a test starts is stopped by its PID
when the test ends, whether it passed, failed or raised.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

KEEPLINE = os.environ.get("KEEPLINE_BIN", os.path.abspath("keepline"))
SRCDIR = os.environ.get("KEEPLINE_SRCDIR", os.path.abspath("."))
BINDIR = os.path.dirname(KEEPLINE)

_started = []   # Popen objects still to stop at exit


def stop(proc):
    """Kill a process we started, by PID, and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=5)


def _stop_all():
    for p in _started:
        stop(p)


atexit.register(_stop_all)


class Skip(Exception):
    """Raised by a test that cannot run here (reported as TAP SKIP)."""


def need_root(why):
    if os.geteuid() != 0:
        raise Skip(why)


def wait_for(fn, timeout, what, *context):
    """fn()'s first true value within timeout seconds, else a failure
    naming what was awaited (with context, e.g. a daemon's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what + "".join(
        "\n" + str(c() if callable(c) else c) for c in context))


class TAP:
    """Runs test functions, prints TAP, exits 1 if any failed."""

    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def run(self):
        only = os.environ.get("KLTEST_ONLY")   # a developer's filter
        if only:
            self.tests = [f for f in self.tests if only in f.__name__]
        print("1..%d" % len(self.tests), flush=True)
        failed = 0
        for i, fn in enumerate(self.tests, 1):
            try:
                fn()
                print("ok %d - %s" % (i, fn.__name__), flush=True)
            except Skip as e:
                print("ok %d - %s # SKIP %s" % (i, fn.__name__, e),
                      flush=True)
            except Exception as e:  # report, keep going
                failed += 1
                print("not ok %d - %s" % (i, fn.__name__), flush=True)
                for line in traceback.format_exception(e):
                    for part in line.rstrip().split("\n"):
                        print("# " + part, flush=True)
        _stop_all()
        sys.exit(1 if failed else 0)


def rss_kb(pid):
    """A process's resident set [kB], from /proc."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_settles(pid, ceiling_kb, timeout):
    """Wait (bounded) for a process's RSS to fall to ceiling_kb; the last
    reading [kB]."""
    deadline = time.monotonic() + timeout
    while True:
        now = rss_kb(pid)
        if now <= ceiling_kb or time.monotonic() >= deadline:
            return now
        time.sleep(2)


def call_end_counts(logs):
    """(rx_packets, tx_packets) of the caller's leg from the call_end line
    of a call its caller ended with BYE, or None if there is none."""
    m = __import__("re").search(
        r"ev=call_end \S+ reason=bye_received duration_ms=\d+ "
        r"rx_packets=(\d+) tx_packets=(\d+)", logs)
    return (int(m.group(1)), int(m.group(2))) if m else None


_LOG_TS = __import__("re").compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z ")


def log_time(line):
    """Wall-clock seconds of a text log line."""
    import calendar
    m = _LOG_TS.match(line)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) \
        + int(m.group(2)) / 1000.0


def check(cond, msg, *context):
    if not cond:
        raise AssertionError(msg + "".join("\n" + str(c) for c in context))


class Scratch:
    """A temporary directory removed at exit."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="keepline-it-")
        atexit.register(shutil.rmtree, self.path, True)

    def file(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        return p


def run(args, timeout=10, env=None, argv0=None):
    """Run keepline (or argv0) with args; returns CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("KEEPLINE_CONFIG", None)
    full_env.pop("REFLECTOR_CONFIG", None)
    if env:
        full_env.update(env)
    cmd = [argv0 or KEEPLINE] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


re_sip = __import__("re").compile(r"^sip:", __import__("re").M)


def _free_udp_port():
    """A SIP port for a gateway: below the kernel's ephemeral range, as
    sipp's are (sippkit.quiet_port()), so no socket of another test is
    handed it between this check and the gateway's bind"""
    import sippkit
    return sippkit.quiet_port()


# RTP ports: each integration file has a block of its own in 20000-32159,
# between sipp's ports (10000-19999) and the ephemeral range (32768-),
# so files that run side by side never share one; a file's daemons take
# ranges from its block in turn.
RTP_FILES = ["test_bridge", "test_calls", "test_cli", "test_compose",
             "test_config", "test_control", "test_daemon", "test_flood",
             "test_hostile", "test_icmp", "test_netwatch", "test_reflector",
             "test_reload", "test_reoffer", "test_timers", "test_tls"]
RTP_BLOCK = 760
_rtp_next = [0]


def rtp_ports(n=100):
    """'first-last': n ports (n even) of this file's block"""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    # a script of bench/ runs alone: the first block
    i = RTP_FILES.index(name) if name in RTP_FILES else 0
    n += n % 2
    if _rtp_next[0] + n > RTP_BLOCK:
        _rtp_next[0] = 0
    first = 20000 + i * RTP_BLOCK + _rtp_next[0]
    _rtp_next[0] += n
    return "%d-%d" % (first, first + n - 1)


def gateway_yaml(trunks="", routes="", media="", listen=("udp",), sip="",
                 extra="", rtp=100):
    """The configuration of a gateway under test, written one way for
    every file: SIP on 127.0.0.1, a port per transport in listen (below
    the ephemeral range; an entry with an address, "udp:10.77.0.1:5060",
    is taken as it is: a gateway in a namespace), RTP from this file's
    block; trunks and routes are YAML list items, media and sip more keys
    of those sections; rtp a count of ports, or a range the test took
    with rtp_ports(). Returns (yaml, {transport: port})."""
    ports = {tp: _free_udp_port() for tp in listen if ":" not in tp}
    entries = ["%s:127.0.0.1:%d" % (tp, p) for tp, p in ports.items()] + \
        [tp for tp in listen if ":" in tp]
    return ("sip:\n  listen: [%s]\n%s" % (
        ", ".join("\"%s\"" % e for e in entries),
        "".join("  %s\n" % ln for ln in sip.splitlines())) +
        ("trunks:\n%s" % trunks if trunks else "") +
        ("routes:\n%s" % routes if routes else "") +
        "media:\n  rtp_ports: %s\n%s" % (
            rtp if isinstance(rtp, str) else rtp_ports(rtp), "".join("  %s\n" % ln for ln in media.splitlines())) +
        extra, ports)


class Daemon:
    """keepline serve with a config whose control socket is private."""

    def __init__(self, extra_yaml="", scratch=None, env=None, wrap=()):
        self.scratch = scratch or Scratch()
        self.sock = os.path.join(self.scratch.path, "control.sock")
        # a SIP port of its own, so tests can run side by side
        if not re_sip.search(extra_yaml):
            extra_yaml = "sip: {listen: [udp:127.0.0.1:%d]}\n%s" % (
                _free_udp_port(), extra_yaml)
        self.conf = self.scratch.file(
            "keepline.yaml",
            "control:\n  socket: %s\n%s" % (self.sock, extra_yaml))
        self.log_path = os.path.join(self.scratch.path, "serve.log")
        self.env = env
        self.wrap = list(wrap)   # e.g. ip netns exec NS, setpriv ...
        self.proc = None

    def start(self, wait=True):
        full_env = dict(os.environ)
        if self.env:
            full_env.update(self.env)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            self.wrap + [KEEPLINE, "-c", self.conf, "serve"], stdout=self.log,
            stderr=subprocess.STDOUT, env=full_env)
        _started.append(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("keepline exited with %d:\n%s" %
                                     (self.proc.returncode, self.logs()))
            try:
                self.request({"cmd": "help"}, timeout=0.5)
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("keepline not ready after %.1fs:\n%s" %
                             (timeout, self.logs()))

    def request(self, obj, timeout=2.0):
        """One request line, one reply line, as JSON."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.sock)
            s.sendall((json.dumps(obj) + "\n").encode())
            return json.loads(read_line(s))

    def cli(self, *args, **kw):
        return run(["-c", self.conf] + list(args), **kw)

    def calls(self):
        """The calls now up, from `keepline calls --json`."""
        r = self.cli("calls", "--json")
        check(r.returncode == 0, "calls --json", r.stderr)
        return json.loads(r.stdout)["calls"]

    def send_signal(self, signo):
        os.kill(self.proc.pid, signo)

    def stop(self, signo=signal.SIGTERM, timeout=5.0):
        """Signal by PID; returns (exit status, seconds it took)."""
        if self.proc.poll() is not None:
            return self.proc.returncode, 0.0
        t0 = time.monotonic()
        os.kill(self.proc.pid, signo)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("keepline ignored signal %d" % signo)
        return rc, time.monotonic() - t0

    def logs(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, needle, timeout=3.0):
        try:
            wait_for(lambda: needle in self.logs(), timeout, "")
        except AssertionError:
            raise AssertionError("log never said %r:\n%s" %
                                 (needle, self.logs())) from None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        """Stop with SIGTERM and insist on exit status 0: a daemon that
        cannot stop cleanly, or (ASan build) leaks, fails the test."""
        rc = 0
        if self.proc and self.proc.poll() is None:
            rc, _ = self.stop(signal.SIGTERM)
        if getattr(self, "log", None):
            self.log.close()
        if rc != 0 and exc_type is None:
            raise AssertionError("keepline exited with %d on SIGTERM:\n%s"
                                 % (rc, self.logs()[-4000:]))


def read_line(s, limit=1 << 20):
    buf = b""
    while b"\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed before a whole line: %r" % buf)
        buf += d
        if len(buf) > limit:
            raise ValueError("reply too long")
    return buf.split(b"\n", 1)[0].decode()
