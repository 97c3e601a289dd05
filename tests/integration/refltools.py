"""Helpers for the reflector tests: Endpoint IDs computed independently
(python3-cryptography), certificates a test makes itself, a daemon with
the reflector on, and the appliance CLI."""

import json
import os
import random
import socket
import stat

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey
from cryptography.x509.oid import NameOID
import datetime

import kltest
from kltest import Daemon, Scratch, check

A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def endpoint_id(pub):
    """The Endpoint ID of a raw 32-byte Ed25519 public key."""
    bits = "".join("%08d" % int(bin(b)[2:]) for b in pub) + "0000"
    sym = [int(bits[i:i + 5], 2) for i in range(0, 260, 5)]
    total, factor = 0, 2
    for v in reversed(sym):
        a = factor * v
        total += a // 32 + a % 32
        factor = 1 if factor == 2 else 2
    enc = "".join(A[v] for v in sym)
    return ("PP-" + "-".join(enc[i:i + 4] for i in range(0, 52, 4)) + "-" +
            A[(32 - total % 32) % 32])


class Peer:
    """An appliance identity: the raw key file keepline reads, and PEM key
    and certificate files for openssl s_client (SAN may claim another
    ID, to forge)."""

    def __init__(self, directory, name, claim=None):
        self.key = Ed25519PrivateKey.generate()
        pub = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.id = endpoint_id(pub)
        self.raw = os.path.join(directory, name + ".ed25519")
        fd = os.open(self.raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, self.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption()))
        os.close(fd)
        self.pem_key = os.path.join(directory, name + ".key.pem")
        with open(self.pem_key, "wb") as f:
            f.write(self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        claimed = claim or self.id
        name_ = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name_)
                .issuer_name(name_).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("pp-id-" + claimed)]), critical=False)
                .sign(self.key, None))
        self.pem_cert = os.path.join(directory, name + ".cert.pem")
        with open(self.pem_cert, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_range(n=10):
    """n consecutive UDP ports nobody holds now, above the RTP ranges."""
    for _ in range(200):
        base = random.randrange(40000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("0.0.0.0", p))
            return base, base + n - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free UDP port range")


class Reflector(Daemon):
    """keepline serve with the reflector on, on loopback, its state in the
    scratch directory; quotas and access as the test asks."""

    def __init__(self, quotas="", access="", network="", scratch=None,
                 port=None, data=None, extra="", host="127.0.0.1"):
        scratch = scratch or Scratch()
        self.port = port or free_tcp_port()
        self.data = data or free_udp_range()
        self.key_path = os.path.join(scratch.path, "state",
                                     "identity.ed25519")
        self.audit_path = os.path.join(scratch.path, "state", "audit.jsonl")
        self.host = host
        self.addr = ("[%s]:%d" if ":" in host else "%s:%d") % (host,
                                                               self.port)
        gw, ports = kltest.gateway_yaml(extra="""\
reflector:
  enabled: true
  identity: {private_key_path: %s}
  network:
    listen_address: "%s"
    data_port_range_start: %d
    data_port_range_end: %d
    %s
  access: {pairing_enabled: true, %s}
  quotas: {cooldown_sec: 0, %s}
  logging: {audit_log_path: %s}
%s""" % (self.key_path, self.addr, self.data[0], self.data[1], network,
         access, quotas, self.audit_path, extra))
        self.sip = "127.0.0.1:%d" % ports["udp"]
        super().__init__(scratch=scratch, extra_yaml=gw)

    def __exit__(self, exc_type, exc, tb):
        """Every test ends with no zombie of the daemon's, and no iperf3
        of its left once it has stopped"""
        kids = []
        if self.proc and self.proc.poll() is None:
            kids, zombies = iperf3_children(self.proc.pid)
            if zombies and exc_type is None:
                super().__exit__(exc_type, exc, tb)
                raise AssertionError("zombie children %s" % zombies)
        super().__exit__(exc_type, exc, tb)
        left = [k for k in kids if os.path.exists("/proc/%d" % k)]
        if left and exc_type is None:
            raise AssertionError("iperf3 %s outlived the daemon" % left)

    def audit(self):
        try:
            with open(self.audit_path) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def events(self, kind=None):
        return [a for a in self.audit()
                if kind is None or a["event_type"] == kind]

    def status(self):
        st = self.request({"cmd": "status"})
        return st["subsystems"]["reflector"]

    def endpoint_id(self):
        return self.status()["endpoint_id"]

    def pair(self, *args):
        r = self.cli("reflector", "pair", *args)
        check(r.returncode == 0, "reflector pair", r.stdout, r.stderr)
        return r.stdout.strip()

    def app(self, peer, *args, timeout=20):
        """keepline appliance --identity <peer's key> ARGS"""
        ident = peer.raw if isinstance(peer, Peer) else peer
        return self.cli("appliance", "--identity", ident, *args,
                        timeout=timeout)


def iperf3_children(pid):
    """The iperf3 processes whose parent is pid, and any zombie child"""
    kids, zombies = [], []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) != pid:
            continue
        if fields[0] == "Z":
            zombies.append(int(d))
        elif name == "iperf3":
            kids.append(int(d))
    return kids, zombies


def app_ok(r, what):
    check(r.returncode == 0, what, r.returncode, r.stdout, r.stderr)
    return r


def is_mode_600(path):
    return stat.S_IMODE(os.stat(path).st_mode) == 0o600
