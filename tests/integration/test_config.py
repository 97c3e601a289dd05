"""Configuration files: errors with file, line and column, lookup order."""

import os
import re

from kltest import BINDIR, SRCDIR, TAP, Daemon, Scratch, check, run

t = TAP()

THREE_ERRORS = """\
sip:
  listen: [udp:127.0.0.1:5060]
  user_agnet: Keepline
session_timer:
  min_se: 60
media:
  rtp_ports: 30000-20000
"""


@t.test
def three_errors_reported_at_once_with_position():
    s = Scratch()
    path = s.file("bad.yaml", THREE_ERRORS)
    r = run(["-c", path, "check-config"])
    check(r.returncode == 2, "exit %d" % r.returncode, r.stderr)
    check("configuration OK" not in r.stdout, "claimed OK", r.stdout)
    lines = r.stderr.splitlines()
    check(lines == [
        "%s:3:3: sip.user_agnet: unknown key" % path,
        "%s:5:11: session_timer.min_se: 60 is below the minimum 90" % path,
        "%s:7:14: media.rtp_ports: '30000-20000': port range is empty "
        "(first port is above the last)" % path,
    ], "error lines", r.stderr)


@t.test
def example_config_is_valid():
    r = run(["-c", os.path.join(SRCDIR, "docker", "keepline.yaml"),
             "check-config"])
    check(r.returncode == 0, "exit %d" % r.returncode, r.stderr)
    check(r.stdout == "configuration OK\n", "output", r.stdout)


UNBUILT = """\
trunks:
  - name: t
    addresses: [127.0.0.1]
    probe: true
netwatch:
  interval: 5s
icmp_relay: {enabled: true}
reflector:
  enabled: false
control:
  http: 127.0.0.1:8080
"""


@t.test
def keys_for_modules_not_in_this_build_are_refused():
    s = Scratch()
    path = s.file("unbuilt.yaml", UNBUILT)
    want = [
        "%s:7:23: icmp_relay.enabled: the ICMP relay is not in this build"
        % path,
        "%s:11:9: control.http: the HTTP metrics server is not in this build" % path,
    ]
    r = run(["-c", path, "check-config"])
    check(r.returncode == 2 and r.stderr.splitlines() == want,
          "check-config", r.returncode, r.stderr)
    # serve refuses the same file the same way, before opening anything
    r = run(["-c", path, "serve"])
    check(r.returncode == 2 and r.stderr.splitlines() == want,
          "serve", r.returncode, r.stderr)
    # what asks for nothing is fine: probe false, enabled false
    ok = s.file("ok.yaml", "trunks:\n  - {name: t, addresses: [127.0.0.1],"
                " probe: false}\nicmp_relay: {enabled: false}\n"
                "reflector: {enabled: false}\ncontrol: {http: off}\n")
    r = run(["-c", ok, "check-config"])
    check(r.returncode == 0, "nothing asked", r.stderr)


@t.test
def an_authorized_peer_must_be_an_endpoint_id():
    s = Scratch()
    path = s.file("peers.yaml", "reflector:\n  access:\n    authorized_peers:"
                  " [PP-AAAA, pp-txd9-g0c2-p45b-fnab-zv9w-js07-787e-2wqk-vak2"
                  "-69df-08d6-hxr7-a4d0-r, PP-TXD9-G0C2-P45B-FNAB-ZV9W-JS07-"
                  "787E-2WQK-VAK2-69DF-08D6-HXR7-A4D0-S]\n")
    r = run(["-c", path, "check-config"])
    want = ["%s:3:%d: reflector.access.authorized_peers[%d]: '%s' is not an "
            "Endpoint ID (PP-XXXX-...-X with a valid check symbol)" %
            (path, col, i, v) for col, i, v in
            ((24, 0, "PP-AAAA"), (104, 2, "PP-TXD9-G0C2-P45B-FNAB-ZV9W-JS07-"
                                          "787E-2WQK-VAK2-69DF-08D6-HXR7-A4D0-"
                                          "S"))]
    check(r.returncode == 2 and r.stderr.splitlines() == want,
          "the short one and the wrong check symbol refused, the lower-case "
          "one accepted", r.returncode, r.stderr)


@t.test
def a_ca_file_for_tls_peers_is_refused():
    s = Scratch()
    certs = os.path.join(s.path, "tls")
    os.mkdir(certs)
    with open(os.path.join(certs, "cafile.pem"), "w") as f:
        f.write("")
    path = s.file("tls.yaml", "sip:\n  listen: [tls:127.0.0.1:5061]\n"
                  "  tls_certificates: %s\n" % certs)
    r = run(["-c", path, "check-config"])
    check(r.returncode == 2 and r.stderr ==
          "%s:3:21: sip.tls_certificates: %s/cafile.pem: verifying TLS "
          "peers against a CA is not in this build; remove the file (peers "
          "are not verified)\n" % (path, certs), "refused", r.returncode,
          r.stderr)


@t.test
def missing_file_is_an_error():
    r = run(["-c", "/nonexistent/keepline.yaml", "check-config"])
    check(r.returncode == 2, "exit %d" % r.returncode)
    check(r.stderr == "/nonexistent/keepline.yaml: cannot read: No such "
          "file or directory\n", "message", r.stderr)


@t.test
def yaml_syntax_error_has_position():
    s = Scratch()
    path = s.file("syntax.yaml", "sip:\n  listen: [udp:1.2.3.4\n")
    r = run(["-c", path, "check-config"])
    check(r.returncode == 2, "exit %d" % r.returncode)
    check(re.match(re.escape(path) + r":\d+:\d+: YAML syntax error: ",
                   r.stderr), "message", r.stderr)


@t.test
def lookup_order_cli_then_env():
    s = Scratch()
    good = s.file("good.yaml", "log: {level: warn}\n")
    bad = s.file("bad.yaml", "log: {level: loud}\n")
    # $KEEPLINE_CONFIG is read when there is no -c
    r = run(["check-config"], env={"KEEPLINE_CONFIG": bad})
    check(r.returncode == 2 and bad in r.stderr, "env not read", r.stderr)
    # -c wins over the environment
    r = run(["-c", good, "check-config"], env={"KEEPLINE_CONFIG": bad})
    check(r.returncode == 0, "-c did not win", r.stderr)
    # -c is accepted after the command too
    r = run(["check-config", "-c", good], env={"KEEPLINE_CONFIG": bad})
    check(r.returncode == 0, "check-config -c", r.stderr)


@t.test
def reflector_config_env_only_for_reflector():
    s = Scratch()
    bad = s.file("bad.yaml", "reflector: {enabled: perhaps}\n")
    link = os.path.join(BINDIR, "reflector")
    r = run(["status"], argv0=link, env={"REFLECTOR_CONFIG": bad})
    check(r.returncode == 2, "reflector ignored $REFLECTOR_CONFIG",
          r.stdout, r.stderr)
    check("%s:1:22: reflector.enabled: 'perhaps': expected true or false"
          % bad in r.stderr, "message", r.stderr)
    if not os.path.exists("/etc/keepline/keepline.yaml"):
        r = run(["check-config"], env={"REFLECTOR_CONFIG": bad})
        check(r.returncode == 0, "keepline read $REFLECTOR_CONFIG",
              r.stderr)


@t.test
def serve_refuses_an_invalid_config():
    s = Scratch()
    d = Daemon("session_timer: {min_se: 100, default_expires: 95}\n",
               scratch=s)
    d.start(wait=False)
    rc = d.proc.wait(timeout=5)
    check(rc == 2, "exit %d" % rc, d.logs())
    check("session_timer.min_se: min_se (100s) is greater than "
          "default_expires (95s)" in d.logs(), "message", d.logs())
    check(not os.path.exists(d.sock), "socket created anyway")


t.run()
