"""keepline serve: status, logs, signals, a second daemon, stale sockets."""

import json
import os
import re
import signal
import stat

from kltest import TAP, Daemon, check

t = TAP()

TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


@t.test
def status_answers_with_version_pid_and_subsystems():
    with Daemon() as d:
        r = d.cli("status")
        check(r.returncode == 0, "status exit %d" % r.returncode, r.stderr)
        check(re.match(r"keepline \d+\.\d+\.\d+, pid %d, up 0d 00:00:\d\d"
                       % d.proc.pid, r.stdout), "first line", r.stdout)
        check("control:  %s (1 client" % d.sock in r.stdout, "control",
              r.stdout)
        check(re.search(r"^  sip +enabled +running$", r.stdout, re.M),
              "sip line", r.stdout)
        check(re.search(r"^  icmp_relay +enabled +not running \(not in "
                        r"this build yet\)$", r.stdout, re.M),
              "icmp_relay line", r.stdout)

        r = d.cli("status", "--json")
        check(r.returncode == 0, "status --json", r.stderr)
        st = json.loads(r.stdout)
        check(st["ok"] is True and st["pid"] == d.proc.pid, "pid", st)
        check(st["config"] == d.conf, "config path", st)
        check(isinstance(st["uptime_s"], int), "uptime", st)
        check(st["control"]["socket"] == d.sock, "socket", st)
        check(st["control"]["requests"] >= 2, "request counter", st)
        check(st["subsystems"]["reflector"]["enabled"] is False,
              "reflector", st)
        check(st["subsystems"]["icmp"]["enabled"] is True, "icmp", st)
        check(stat.S_IMODE(os.stat(d.sock).st_mode) == 0o660,
              "socket mode %o" % os.stat(d.sock).st_mode)


@t.test
def metrics_pass_promtool():
    """Every module's metrics, in the text format Prometheus parses
    (promtool check metrics: names, HELP, TYPE, counters end _total)."""
    import subprocess
    with Daemon() as d:
        r = d.request({"cmd": "metrics"})
        check(r["ok"], "metrics", r)
        text = r["text"]
        for name in ("keepline_uptime_seconds", "keepline_sip_calls 0",
                     "keepline_sip_invites_total 0",
                     "keepline_media_ports ",
                     'keepline_icmp_errors_total{intake="raw"}',
                     "keepline_reloads_total 0"):
            check(name in text, name, text)
        p = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=20)
        check(p.returncode == 0 and not p.stdout.strip() and
              not p.stderr.strip(), "promtool", p.returncode, p.stdout,
              p.stderr, text)


@t.test
def sigterm_stops_within_one_second():
    with Daemon() as d:
        rc, took = d.stop(signal.SIGTERM)
        check(rc == 0, "exit %d" % rc, d.logs())
        check(took < 1.0, "took %.3fs" % took)
        check(not os.path.exists(d.sock), "socket left behind")
        logs = d.logs()
        check(re.search(TS + r" INFO gateway: Shutting down on SIGTERM "
                        r"ev=stop signal=SIGTERM$", logs, re.M),
              "stop line", logs)
        check(re.search(r"INFO gateway: Keepline stopped ev=stopped "
                        r"uptime_s=\d+$", logs, re.M), "stopped line", logs)


@t.test
def sigint_stops_too():
    with Daemon() as d:
        rc, took = d.stop(signal.SIGINT)
        check(rc == 0 and took < 1.0, "exit %d after %.3fs" % (rc, took))


@t.test
def text_log_lines_carry_event_names():
    with Daemon() as d:
        d.stop()
        logs = d.logs().splitlines()
        check(re.fullmatch(TS + r" INFO gateway: Control socket listening "
                           r"on \S+ ev=ctrl_listen path=\S+", logs[0]),
              "ctrl_listen", logs)
        check(re.fullmatch(TS + r" INFO sip: SIP listening on "
                           r"udp:127\.0\.0\.1:\d+ ev=listen "
                           r"listen=udp:127\.0\.0\.1:\d+", logs[1]),
              "sip listen", logs)
        start = [l for l in logs if " ev=start " in l]
        check(len(start) == 1 and
              re.fullmatch(TS + r" INFO gateway: Keepline \S+ started "
                           r"ev=start version=\S+ pid=%d config=\S+"
                           % d.proc.pid, start[0]), "start", logs)


@t.test
def json_log_lines_are_objects():
    with Daemon("log: {format: json, level: debug}\n") as d:
        d.stop()
        lines = d.logs().splitlines()
        check(len(lines) >= 4, "lines", lines)
        for line in lines:
            o = json.loads(line)
            for k in ("ts", "level", "mod", "ev", "msg"):
                check(k in o, "no %r in %s" % (k, line))
            check(re.fullmatch(TS, o["ts"]), "ts", line)
        start = [json.loads(x) for x in lines
                 if json.loads(x)["ev"] == "start"][0]
        check(start["pid"] == d.proc.pid and start["level"] == "info",
              "start event", start)


@t.test
def sighup_reloads_and_keeps_running_on_bad_config():
    with Daemon("log: {level: info}\n") as d:
        with open(d.conf, "a") as f:
            f.write("icmp: {error_threshold: 7}\n")
        d.send_signal(signal.SIGHUP)
        d.wait_log("ev=reload config=%s" % d.conf)

        with open(d.conf, "a") as f:
            f.write("media: {rtp_ports: nonsense}\n")
        d.send_signal(signal.SIGHUP)
        d.wait_log("Configuration not reloaded, keeping the running one")
        check("media.rtp_ports: 'nonsense'" in d.logs(), "error logged",
              d.logs())
        check(d.request({"cmd": "status"})["ok"], "daemon gone")
        rc, _ = d.stop()
        check(rc == 0, "exit %d" % rc)


@t.test
def second_daemon_on_same_socket_is_refused():
    with Daemon() as first:
        second = Daemon(scratch=first.scratch)
        second.conf = first.conf
        second.log_path = first.log_path + ".2"
        second.start(wait=False)
        rc = second.proc.wait(timeout=5)
        check(rc == 1, "second daemon exit %d" % rc, second.logs())
        check("is keepline already running?" in second.logs(), "message",
              second.logs())
        check(first.request({"cmd": "status"})["ok"], "first daemon harmed")
        check(os.path.exists(first.sock), "first daemon's socket removed")


@t.test
def media_bind_not_on_this_host_stops_the_start():
    # 192.0.2.1 (TEST-NET-1) is no address of this machine
    d = Daemon("media: {bind: 192.0.2.1}\n")
    d.start(wait=False)
    rc = d.proc.wait(timeout=5)
    check(rc != 0, "daemon started with an unusable media.bind", d.logs())
    check(re.search(r"ERROR media: media.bind 192.0.2.1 cannot take RTP "
                    r"sockets \(Cannot assign requested address\): it must "
                    r"be an address of this host ev=media_bind_unusable",
                    d.logs()), "message", d.logs())


@t.test
def stale_socket_of_a_killed_daemon_is_replaced():
    with Daemon() as first:
        first.stop(signal.SIGKILL)
        check(os.path.exists(first.sock), "SIGKILL should leave the file")
        again = Daemon(scratch=first.scratch)
        again.conf, again.sock = first.conf, first.sock
        with again:
            check(again.request({"cmd": "status"})["pid"] == again.proc.pid,
                  "new daemon not answering")


t.run()
