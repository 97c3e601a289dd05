"""The control socket under bad and heavy use: the daemon stays unharmed."""

import json
import socket
import time

from kltest import TAP, Daemon, check, read_line

t = TAP()


def connect(d, timeout=3.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(d.sock)
    return s


@t.test
def many_clients_at_once():
    with Daemon() as d:
        socks = [connect(d) for _ in range(50)]
        try:
            for i, s in enumerate(socks):
                s.sendall(b'{"cmd":"status","id":%d}\n' % i)
            for i, s in enumerate(socks):
                r = json.loads(read_line(s))
                check(r["ok"] and r["id"] == i, "reply %d" % i, r)
        finally:
            for s in socks:
                s.close()


@t.test
def malformed_requests_get_error_replies():
    with Daemon() as d:
        with connect(d) as s:
            s.sendall(b'not json\n{"cmd": 5}\n{"cmd":"nope"}\n'
                      b'\xff\xfe{\n{"cmd":"status"}\n')
            replies = [json.loads(read_line_from(s)) for _ in range(5)]
        check([r["ok"] for r in replies] == [False] * 4 + [True],
              "ok flags", replies)
        check(replies[0]["error"].startswith("malformed request"),
              "garbage", replies[0])
        check(replies[2]["error"] == "unknown command 'nope' (try \"help\")",
              "unknown", replies[2])
        check(d.request({"cmd": "status"})["control"]["errors"] >= 4,
              "errors not counted")


_pending = {}


def read_raw_line(s):
    """A reply line as bytes, whatever they are; what follows the newline
    is kept for the next call."""
    buf = _pending.pop(s, b"")
    while b"\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed: %r" % buf)
        buf += d
    line, rest = buf.split(b"\n", 1)
    _pending[s] = rest
    return line


def read_line_from(s):
    """Line reader that keeps what follows the newline for the next call."""
    return read_raw_line(s).decode()


@t.test
def oversized_request_is_refused_and_closed():
    with Daemon() as d:
        with connect(d) as s:
            try:
                s.sendall(b"{" + b" " * 100000)
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = json.loads(read_line(s))
            check(not r["ok"] and "request too large (limit 65536" in
                  r["error"], "reply", r)
            s.settimeout(2)
            tail = b""
            while True:       # the daemon closes after the reply
                chunk = s.recv(4096)
                if not chunk:
                    break
                tail += chunk
        check(d.request({"cmd": "status"})["ok"], "daemon harmed")
        check("ev=ctrl_request_too_large" in d.logs(), "not logged",
              d.logs())


@t.test
def a_stalled_client_does_not_block_others():
    with Daemon() as d:
        with connect(d) as slow:
            slow.sendall(b'{"cmd":"sta')       # and never finishes
            t0 = time.monotonic()
            check(d.request({"cmd": "status"})["ok"], "not served")
            check(time.monotonic() - t0 < 1.0, "served slowly")


@t.test
def clients_over_the_limit_are_told_and_closed():
    with Daemon() as d:
        held = [connect(d) for _ in range(64)]
        try:
            # make sure the daemon accepted all 64
            for s in held:
                s.sendall(b'{"cmd":"help"}\n')
                read_line(s)
            with connect(d) as extra:
                r = json.loads(read_line(extra))
                check(r == {"ok": False,
                            "error": "too many control clients"},
                      "reply", r)
        finally:
            for s in held:
                s.close()
        # the daemon may accept our next request before it has seen all
        # 64 hang-ups: then it is refused too, and we ask again
        deadline = time.monotonic() + 3
        while True:
            st = d.request({"cmd": "status"})
            if st["ok"] and st["control"]["clients"] == 1:
                break
            check(time.monotonic() < deadline, "clients not released", st)
            time.sleep(0.05)
        check(st["control"]["clients_rejected"] >= 1, "not counted", st)


@t.test
def replies_are_utf8_json_whatever_the_request():
    """RFC 8259 §8.1: JSON text is UTF-8. A request with bytes that are
    not is refused and nothing of it echoed; escapes of no character
    (lone surrogates) never reach a reply as bytes; real UTF-8 is echoed
    as it came."""
    with Daemon() as d, connect(d) as s:
        s.sendall(b'{"cmd":"\xc3\x28"}\n'
                  b'{"cmd":"\\ud800x","id":"a"}\n'
                  b'{"cmd":"help","id":"\\udfff"}\n'
                  b'{"cmd":"st\xe9tus"}\n'
                  b'{"cmd":"\xe2\x82\xac"}\n')
        replies = []
        for _ in range(5):
            raw = read_raw_line(s)
            try:
                replies.append(json.loads(raw.decode("utf-8")))
            except (UnicodeDecodeError, ValueError) as e:
                check(False, "not UTF-8 JSON: %r (%s)" % (raw, e))
        for r in (replies[0], replies[3]):
            check(not r["ok"] and r["error"] ==
                  "malformed request: not UTF-8" and "id" not in r,
                  "refused without echo", replies)
        # libre's decoder drops a lone surrogate: what is echoed of
        # those two (checked above to be UTF-8 JSON) is what remains
        check(replies[1]["id"] == "a" and replies[2]["ok"],
              "escapes decoded", replies)
        check(replies[4]["error"] == "unknown command '\u20ac' (try "
              "\"help\")", "UTF-8 echoed", replies[4])


@t.test
def last_request_without_newline_is_answered():
    with Daemon() as d, connect(d) as s:
        s.sendall(b'{"cmd":"help"}\n{"cmd":"status","id":9}')
        s.shutdown(socket.SHUT_WR)
        first = json.loads(read_line_from(s))
        last = json.loads(read_line_from(s))
        check(first["ok"] and last["ok"] and last["id"] == 9,
              "both answered", first, last)


@t.test
def idle_clients_are_closed_after_ten_seconds():
    """64 clients that connect and then say nothing (or nothing more) fill
    every slot; each is told and closed 10 s after it connected or last
    asked, and the operator gets in again."""
    with Daemon() as d:
        idle = [connect(d, timeout=20) for _ in range(64)]
        try:
            for s in idle[1:]:
                s.sendall(b'{"cmd":"help"}\n')
                read_line_from(s)
            t0 = time.monotonic()   # idle[0] has said nothing at all
            with connect(d) as extra:
                r = json.loads(read_line(extra))
                check(not r["ok"], "65th refused while they idle", r)
            r = json.loads(read_line_from(idle[0]))
            waited = time.monotonic() - t0
            check(not r["ok"] and r["error"] == "idle for 10 s without a "
                  "request, closing" and 9.0 < waited < 11.5,
                  "told after %.1f s" % waited, r)
            check(idle[0].recv(16) == b"", "then closed")
            r = json.loads(read_line_from(idle[1]))
            check(r["error"].startswith("idle for 10 s"), "and the rest",
                  r)
            deadline = time.monotonic() + 3
            while True:
                try:
                    if d.request({"cmd": "status"})["ok"]:
                        break
                except (OSError, ValueError):
                    pass
                check(time.monotonic() < deadline, "operator kept out")
                time.sleep(0.05)
        finally:
            for s in idle:
                s.close()


t.run()
