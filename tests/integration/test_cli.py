"""The command line: version, help, exit codes, the reflector link."""

import glob
import os
import re

from kltest import BINDIR, SRCDIR, TAP, Daemon, Scratch, check, run

t = TAP()


@t.test
def version_prints_and_exits_0():
    r = run(["--version"])
    check(r.returncode == 0, "exit %d" % r.returncode, r.stderr)
    check(re.fullmatch(r"keepline \d+\.\d+\.\d+\n", r.stdout),
          "unexpected --version output", r.stdout)


@t.test
def help_lists_the_commands():
    r = run(["--help"])
    check(r.returncode == 0, "exit %d" % r.returncode)
    for cmd in ("serve", "check-config", "status [--json]", "reflector",
                "help [SUBCOMMAND]"):
        check(cmd in r.stdout, "--help does not mention %r" % cmd, r.stdout)


@t.test
def help_subcommand_shows_its_usage():
    r = run(["help", "status"])
    check(r.returncode == 0, "exit %d" % r.returncode)
    check(r.stdout.startswith("usage: keepline [-c FILE] status [--json]"),
          "help status", r.stdout)
    r = run(["status", "--help"])
    check(r.returncode == 0 and "usage: keepline" in r.stdout,
          "status --help", r.stdout, r.stderr)
    r = run(["help", "reflector", "status"])
    check(r.returncode == 0 and "reflector status [--json]" in r.stdout,
          "help reflector status", r.stdout)


@t.test
def usage_errors_exit_2():
    r = run(["frobnicate"])
    check(r.returncode == 2, "unknown command: exit %d" % r.returncode)
    check("unknown command 'frobnicate'" in r.stderr, "message", r.stderr)
    r = run([])
    check(r.returncode == 2 and "usage:" in r.stderr, "no command",
          r.stderr)
    r = run(["status", "--bogus"])
    check(r.returncode == 2, "bad option: exit %d" % r.returncode)
    r = run(["help", "nope"])
    check(r.returncode == 2, "help nope: exit %d" % r.returncode)


@t.test
def status_without_daemon_says_so():
    s = Scratch()
    conf = s.file("k.yaml", "control: {socket: %s/none.sock}\n" % s.path)
    r = run(["-c", conf, "status"])
    check(r.returncode == 1, "exit %d" % r.returncode)
    check("no daemon answers on %s/none.sock" % s.path in r.stderr,
          "message", r.stderr)


@t.test
def reflector_link_behaves_as_keepline_reflector():
    link = os.path.join(BINDIR, "reflector")
    check(os.path.islink(link), "build did not make the reflector link")
    r = run(["--help"], argv0=link)
    check(r.returncode == 0 and r.stdout.startswith("usage: reflector"),
          "reflector --help", r.stdout, r.stderr)
    r = run(["--version"], argv0=link)
    check(r.returncode == 0 and r.stdout.startswith("keepline "),
          "reflector --version", r.stdout)
    r = run(["bogus"], argv0=link)
    check(r.returncode == 2 and "unknown sub-command 'bogus'" in r.stderr,
          "reflector bogus", r.stderr)

    with Daemon() as d:
        a = run(["-c", d.conf, "status"], argv0=link)
        b = d.cli("reflector", "status")
        check(a.returncode == 0, "reflector status", a.stderr)
        check(a.stdout == b.stdout == "reflector: disabled, not running\n",
              "reflector status output", a.stdout, b.stdout)


@t.test
def log_catalogue_lists_every_event():
    """docs/logs.md is the operators' reference: no event may be missing."""
    with open(os.path.join(SRCDIR, "docs", "logs.md")) as f:
        catalogue = f.read()
    call = re.compile(r'gw_log\(\s*GW_LOG_\w+,\s*"(\w+)",\s*"(\w+)"')
    events = set()
    for path in glob.glob(os.path.join(SRCDIR, "*", "*.c")):
        with open(path) as f:
            events.update(call.findall(f.read()))
    check(len(events) >= 10, "found too few gw_log calls", events)
    missing = sorted("%s/%s" % e for e in events
                     if "| `%s` |" % e[1] not in catalogue)
    check(not missing, "events missing from docs/logs.md", missing)




@t.test
def reflector_show_id_makes_and_keeps_the_identity():
    """show-id makes the key on first use (0600, parents too) and prints
    the same ID every time; Python's cryptography derives the same public
    key from the file and an independent encoder the same ID."""
    import stat
    s = Scratch()
    key = os.path.join(s.path, "state", "id", "identity.ed25519")
    conf = s.file("refl.yaml", "reflector:\n  identity: {private_key_path: "
                  "%s}\n" % key)
    r = run(["-c", conf, "reflector", "show-id"])
    check(r.returncode == 0 and re.fullmatch(r"PP(-[0-9A-HJKMNP-TV-Z]{4}){13}"
                                             r"-[0-9A-HJKMNP-TV-Z]\n",
                                             r.stdout),
          "show-id", r.returncode, r.stdout, r.stderr)
    check(r.stderr == "keepline: created a new identity in %s\n" % key,
          "said it made the key", r.stderr)
    st = os.stat(key)
    check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32,
          "key file %o, %d bytes" % (st.st_mode, st.st_size))
    # as `reflector show-id`, through the link
    again = run(["-c", conf, "show-id"],
                argv0=os.path.join(BINDIR, "reflector"))
    check(again.returncode == 0 and again.stdout == r.stdout and
          not again.stderr, "the same ID again", again.stdout, again.stderr)

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import \
        Ed25519PrivateKey
    from refltools import endpoint_id
    with open(key, "rb") as f:
        pub = Ed25519PrivateKey.from_private_bytes(f.read()).public_key() \
            .public_bytes(serialization.Encoding.Raw,
                          serialization.PublicFormat.Raw)
    check(endpoint_id(pub) + "\n" == r.stdout,
          "python3-cryptography's key, an independent encoder's ID",
          endpoint_id(pub), r.stdout)

    os.chmod(key, 0o644)
    bad = run(["-c", conf, "reflector", "show-id"])
    check(bad.returncode == 1 and bad.stderr ==
          "keepline: reflector.identity.private_key_path %s: readable by "
          "others (mode 0644): chmod 600 it, and replace the key if others "
          "may have read it\n" % key, "group-readable key refused",
          bad.returncode, bad.stderr)


t.run()
