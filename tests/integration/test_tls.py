"""SIP over TLS (a tls: listen entry): the gateway presents the
certificate in sip.tls_certificates, answers requests and carries calls
over it; without a usable certificate it refuses to start, saying which
file and what is wrong. The peer is Python's ssl module (OpenSSL); the
certificates come from the openssl command."""

import os
import re
import socket
import ssl
import struct
import subprocess
import time

import kltest
from kltest import TAP, Daemon, Scratch, check
from sippkit import RawUac, free_port

t = TAP()

# Sanitized builds: Sofia's TLS leaks each connection's SSL (see
# tests/lsan.supp); its suppression needs whole allocation stacks, which
# libcrypto (no frame pointers) only gives with the slow unwinder
ASAN_ENV = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
            ":fast_unwind_on_malloc=0"}


def make_cert(dirpath, cn, days=2, name="agent.pem", key_of=None):
    """A self-signed certificate; agent.pem holds it and its key (or the
    key of another certificate, key_of, to make a mismatch)."""
    os.makedirs(dirpath, exist_ok=True)
    key = os.path.join(dirpath, cn + ".key")
    crt = os.path.join(dirpath, cn + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-subj", "/CN=" + cn, "-days", str(days),
                    "-keyout", key, "-out", crt],
                   check=True, capture_output=True, timeout=60)
    with open(os.path.join(dirpath, name), "w") as out:
        out.write(open(crt).read())
        if key_of is not False:
            out.write(open(key_of or key).read())
    return crt, key


def tls_gateway(scratch, certdir):
    y, ports = kltest.gateway_yaml(
        listen=("udp", "tls"), sip="tls_certificates: %s" % certdir,
        trunks="  - {name: lab, addresses: [127.0.0.1]}\n",
        routes="  - {match: echo, action: echo}\n", rtp=10)
    d = Daemon(y, scratch=scratch, env=ASAN_ENV)
    tls = ports["tls"]
    d.tls_port = tls
    return d


class TlsPeer:
    """A SIP peer on one TLS connection: to port, trusting only ca_file,
    or (sock) one accepted already."""

    def __init__(self, port=None, ca_file=None, sock=None):
        if sock is None:
            ctx = ssl.create_default_context(cafile=ca_file)
            ctx.check_hostname = False   # the test cert names no address
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock = ctx.wrap_socket(raw)
        self.s = sock
        self.local = self.s.getsockname()
        self.buf = b""

    def send(self, text):
        self.s.sendall(text.replace("\n", "\r\n").encode())

    def recv(self):
        """One whole SIP message (head and Content-Length body)."""
        deadline = time.monotonic() + 5
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return (head + b"\r\n\r\n" + rest[:n]).decode()
            check(time.monotonic() < deadline, "no whole message",
                  self.buf)
            self.buf += self.s.recv(65536)

    def close(self):
        self.s.close()


def request(method, uri, peer, cseq, call_id, extra="", body="",
            to_tag=""):
    host, port = peer.local
    return ("%s %s SIP/2.0\n"
            "Via: SIP/2.0/TLS %s:%d;branch=z9hG4bK%s%d\n"
            "From: <sip:tester@127.0.0.1>;tag=t1\n"
            "To: <sip:echo@127.0.0.1>%s\n"
            "Call-ID: %s\nCSeq: %d %s\nMax-Forwards: 70\n"
            "Contact: <sip:tester@%s:%d;transport=tls>\n%s"
            "Content-Length: %d\n\n%s"
            % (method, uri, host, port, method.lower(), cseq, to_tag,
               call_id, cseq, method, host, port, extra,
               len(body.replace("\n", "\r\n")), body))


@t.test
def tls_listen_presents_its_certificate_and_answers_options():
    sc = Scratch()
    certdir = os.path.join(sc.path, "tls")
    crt, _ = make_cert(certdir, "keepline-test")
    with tls_gateway(sc, certdir) as d:
        peer = TlsPeer(d.tls_port, crt)   # fails unless it is our cert
        subject = dict(x[0] for x in peer.s.getpeercert()["subject"])
        check(subject.get("commonName") == "keepline-test", "subject",
              subject)
        peer.send(request("OPTIONS", "sip:127.0.0.1:%d" % d.tls_port,
                          peer, 1, "tls-options"))
        reply = peer.recv()
        check(reply.startswith("SIP/2.0 200 "), "OPTIONS over TLS", reply)
        peer.close()
        r = d.cli("check-config")
        check(r.returncode == 0 and r.stdout.startswith(
            "TLS certificate CN=keepline-test expires in ") and
            r.stdout.endswith("configuration OK\n"), "check-config", r)
        # two days left: the log warns, naming the certificate
        d.wait_log("TLS certificate CN=keepline-test expires in")
        line = [l for l in d.logs().splitlines()
                if "ev=tls_certificate " in l][0]
        check(" WARN " in line and re.search(r"days_left=[12]\b", line),
              "expiry warning", line)


@t.test
def echo_call_over_tls_with_rtp_back():
    sc = Scratch()
    certdir = os.path.join(sc.path, "tls")
    crt, _ = make_cert(certdir, "keepline-call")
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.settimeout(2)
    with tls_gateway(sc, certdir) as d:
        peer = TlsPeer(d.tls_port, crt)
        uri = "sip:echo@127.0.0.1:%d;transport=tls" % d.tls_port
        sdp = ("v=0\no=t 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\n"
               "t=0 0\nm=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"
               % rtp.getsockname()[1])
        peer.send(request("INVITE", uri, peer, 1, "tls-call",
                          "Content-Type: application/sdp\n", sdp))
        reply = peer.recv()
        while reply.startswith("SIP/2.0 1"):
            reply = peer.recv()
        check(reply.startswith("SIP/2.0 200 "), "INVITE over TLS", reply)
        to_tag = re.search(r"(?im)^To:.*(;tag=[^;\s]+)", reply).group(1)
        port = int(re.search(r"m=audio (\d+)", reply).group(1))
        peer.send(request("ACK", uri, peer, 1, "tls-call", to_tag=to_tag))

        # the echo route sends our RTP back: 20 packets, each seen again
        back = 0
        for seq in range(20):
            pkt = struct.pack("!BBHII", 0x80, 0, seq, seq * 160,
                              0x7e57) + b"\xff" * 160
            rtp.sendto(pkt, ("127.0.0.1", port))
            try:
                data, _ = rtp.recvfrom(2048)
                back += data[:12] == pkt[:12]
            except socket.timeout:
                pass
        check(back == 20, "RTP echoed on a TLS-signalled call: %d of 20"
              % back, d.logs())

        peer.send(request("BYE", uri, peer, 2, "tls-call", to_tag=to_tag))
        reply = peer.recv()
        check(reply.startswith("SIP/2.0 200 ") and "CSeq: 2 BYE" in reply,
              "BYE over TLS", reply)
        peer.close()
        d.wait_log("ev=call_end call_id=tls-call reason=bye_received")
    rtp.close()


def reply_to(req, status, extra="", body=""):
    """A response echoing req's Via, From, To (tagged), Call-ID, CSeq."""
    h = lambda n: re.search(r"(?im)^%s:\s*(.*?)\r?$" % n, req).group(1)
    to = h("To") + ("" if ";tag=" in h("To") else ";tag=callee1")
    return ("SIP/2.0 %s\nVia: %s\nFrom: %s\nTo: %s\nCall-ID: %s\n"
            "CSeq: %s\n%sContent-Length: %d\n\n%s"
            % (status, h("Via"), h("From"), to, h("Call-ID"), h("CSeq"),
               extra, len(body.replace("\n", "\r\n")), body))


@t.test
def tls_trunk_carries_the_whole_outbound_leg():
    """A bridge to a trunk with transport: tls. The callee's Contact names
    no transport: the ACK and BYE still go to the trunk over TLS."""
    sc = Scratch()
    certdir = os.path.join(sc.path, "tls")
    crt, key = make_cert(certdir, "keepline-trunk")
    srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv_ctx.load_cert_chain(crt, key)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(5)
    trunk_port = lsock.getsockname()[1]
    y, ports = kltest.gateway_yaml(
        listen=("udp", "tls"), sip="tls_certificates: %s" % certdir,
        trunks="  - {name: in, addresses: [127.0.0.1]}\n"
        "  - {name: out, outbound_uri: \"sip:127.0.0.1:%d\", "
        "transport: tls}\n" % trunk_port,
        routes="  - {match: \"+44*\", action: bridge, target: "
        "\"sip:callee@127.0.0.1:%d\", trunk: out}\n" % trunk_port, rtp=10)
    udp, tls = ports["udp"], ports["tls"]
    caller = RawUac(udp, "+44123", "tls-trunk")
    sdp = ("v=0\no=t 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\n"
           "t=0 0\nm=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\n")

    with Daemon(y, scratch=sc, env=ASAN_ENV) as d:
        caller.send("INVITE", 1, caller.sdp())
        conn, _ = lsock.accept()
        trunk = TlsPeer(sock=srv_ctx.wrap_socket(conn, server_side=True))
        invite = trunk.recv()
        check(invite.startswith("INVITE sip:callee@127.0.0.1:%d SIP/2.0"
                                % trunk_port) and
              re.search(r"(?m)^Via: SIP/2\.0/TLS 127\.0\.0\.1:%d;" % tls,
                        invite) and
              "Contact: <sip:127.0.0.1:%d;transport=tls>" % tls in invite,
              "INVITE to the trunk over TLS", invite)
        trunk.send(reply_to(invite, "200 OK",
                            "Contact: <sip:callee@127.0.0.1:%d>\n"
                            "Content-Type: application/sdp\n" % trunk_port,
                            sdp % 40002))
        ack = trunk.recv()
        check(ack.startswith("ACK "), "ACK to the trunk over TLS", ack)

        ok = caller.final()
        check(ok.startswith("SIP/2.0 200 "), "caller's answer", ok)
        caller.send("ACK", 1)
        caller.send("BYE", 2)
        bye = trunk.recv()
        check(bye.startswith("BYE sip:callee@127.0.0.1:%d SIP/2.0"
                             % trunk_port), "BYE to the trunk over TLS", bye)
        trunk.send(reply_to(bye, "200 OK"))
        check(caller.final().startswith("SIP/2.0 200 "), "caller's BYE")
        d.wait_log("ev=call_end call_id=tls-trunk reason=bye_received")
        trunk.close()
    lsock.close()
    caller.close()


def refused(certdir, why):
    """keepline serve with a tls: listen and certdir must exit non-zero,
    saying why (a line of its own, the path in it)."""
    sc = Scratch()
    conf = sc.file("k.yaml", """\
control: {socket: %s/c.sock}
sip:
  listen: ["tls:127.0.0.1:%d"]
  tls_certificates: %s
""" % (sc.path, free_port(kind=socket.SOCK_STREAM), certdir))
    r = kltest.run(["-c", conf, "serve"], timeout=10)
    out = r.stdout + r.stderr
    check(r.returncode != 0, "started without a usable certificate", out)
    check("ev=tls_certificate_unusable" in out and
          ("%s/agent.pem: %s" % (certdir, why)) in out, "why", out)
    # and check-config, run before a restart, says it first
    r = kltest.run(["-c", conf, "check-config"], timeout=10)
    check(r.returncode == 2 and
          "%s: sip.tls_certificates: %s/agent.pem: %s" % (conf, certdir, why)
          in r.stderr, "check-config", r)


@t.test
def no_usable_certificate_no_start():
    sc = Scratch()
    refused(os.path.join(sc.path, "absent"), "No such file or directory")

    nokey = os.path.join(sc.path, "nokey")
    make_cert(nokey, "nokey", key_of=False)
    refused(nokey, "no private key in it")

    other = os.path.join(sc.path, "other")
    _, other_key = make_cert(other, "other")
    wrong = os.path.join(sc.path, "wrong")
    make_cert(wrong, "wrong", key_of=other_key)
    refused(wrong, "its private key does not belong to its certificate")


t.run()
