# test_origin_0004_tls — https:// backends: the certificate is verified by
# default (a self-signed CA the system does not know fails with a 502 and a
# clear reason in the log; the same CA configured as tls_ca passes), the name
# sent as SNI and verified is the backend's host or tls_sni (a wrong one
# fails), verification can be turned off, and a client certificate is
# presented when the origin asks for one. The CA, the server and the client
# certificates are made by the test with the openssl command.

import http.client
import json
import ssl
import subprocess
import sys
import time

import pytest

from e2elib import assert_daemon_error, daemon_binary, die_with_parent, origin_script, tail_text, wait_for
from test_origin_0000_support import PortOrigin


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    """ca.pem, server.pem/server.key (localhost, 127.0.0.1), client.pem/client.key (CN ec-client)."""
    d = tmp_path / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=edgecache test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
            "-subj", "/CN=ec-client", cwd=d)
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "client.pem", "-days", "2", cwd=d)
    return d


class TLSOrigin(PortOrigin):
    def __init__(self, workdir, pki, client_ca=False):
        self.extra = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key")]
        self.client_pair = (str(pki / "client.pem"), str(pki / "client.key")) if client_ca else None
        if client_ca:
            self.extra += ["--tls-client-ca", str(pki / "ca.pem")]
        super().__init__(workdir)

    def _start(self, workdir, port):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / "origin.stdout"
        self.stderr_path = self.workdir / "origin.stderr"
        port_file = self.workdir / "origin.port"
        cmd = [sys.executable, str(origin_script()), "--port", str(port), "--port-file", str(port_file)] + self.extra
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=die_with_parent)
        wait_for(lambda: port_file.exists() or self.proc.poll() is not None, 10, "TLS origin port file")
        assert self.proc.poll() is None, tail_text(self.stderr_path)
        self.host = "127.0.0.1"
        self.port = int(port_file.read_text().strip())

    def control(self, method, path):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if self.client_pair:
            ctx.load_cert_chain(*self.client_pair)
        c = http.client.HTTPSConnection(self.host, self.port, timeout=10, context=ctx)
        try:
            c.request(method, path, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            assert r.status == 200
            return json.loads(body)
        finally:
            c.close()

    def tls_url(self, host="localhost"):
        return "https://%s:%d" % (host, self.port)


@pytest.fixture
def tls_origin(request, tmp_path, pki):
    made = []

    def make(client_ca=False):
        o = TLSOrigin(tmp_path / ("tls-origin-%d" % len(made)), pki, client_ca)
        made.append(o)
        request.node.__dict__.setdefault("_ec_procs", []).append(o)
        return o

    yield make
    for o in made:
        o.stop()


def group(url, extra=""):
    t = "groups:\n  - name: tls\n    backends: [%s]\n" % url
    for l in extra.strip().splitlines():
        t += "    %s\n" % l.strip()
    return t


def test_verify_fails_without_the_ca(tls_origin, start_edgecache):
    o = tls_origin()
    ec = start_edgecache(config_text=group(o.tls_url(), "fail_max: 0"), origin_url=False)
    r = ec.get("/x?cc=no-store")
    assert_daemon_error(r, 502, closes=False)
    err = ec.stderr_text()
    assert "origin 127.0.0.1:%d: TLS with localhost: certificate verify failed: unable to get local issuer certificate" % o.port in err, err
    assert "origin-tls-failed" in r.body.decode() or b"TLS" in r.body


def test_verify_passes_with_the_configured_ca(tls_origin, start_edgecache, pki):
    o = tls_origin()
    ec = start_edgecache(config_text=group(o.tls_url(), "tls_ca: %s" % (pki / "ca.pem")), origin_url=False)
    for i in range(3):
        r = ec.get("/x?size=5000&cc=no-store&i=%d" % i)
        assert r.status == 200 and len(r.body) == 5000, r
        assert r.header("x-origin-sni") == "localhost"
    # the keep-alive connection was reused over TLS
    assert o.stats()["connections"] == 1 and o.stats()["requests"] == 3
    # an IP address is verified against the certificate's IP entry, without SNI
    ec2 = start_edgecache(config_text=group(o.tls_url("127.0.0.1"), "tls_ca: %s" % (pki / "ca.pem")), origin_url=False)
    r = ec2.get("/ip?cc=no-store")
    assert r.status == 200 and r.header("x-origin-sni") == "-", r


def test_wrong_name_fails_and_verify_off_passes(tls_origin, start_edgecache, pki):
    o = tls_origin()
    cfg = group(o.tls_url(), "tls_ca: %s\ntls_sni: other.example\nfail_max: 0" % (pki / "ca.pem"))
    ec = start_edgecache(config_text=cfg, origin_url=False)
    assert_daemon_error(ec.get("/x"), 502, closes=False)
    assert "certificate verify failed: hostname mismatch" in ec.stderr_text()
    ec2 = start_edgecache(config_text=group(o.tls_url(), "tls_verify: false"), origin_url=False)
    r = ec2.get("/y?cc=no-store")
    assert r.status == 200


def test_client_certificate(tls_origin, start_edgecache, pki):
    o = tls_origin(client_ca=True)
    base = "tls_ca: %s\nfail_max: 0" % (pki / "ca.pem")
    ec = start_edgecache(config_text=group(o.tls_url(), base), origin_url=False)
    r = ec.get("/nocert")
    assert r.status == 502, r
    cfg = group(o.tls_url(), base + "\ntls_cert: %s\ntls_key: %s" % (pki / "client.pem", pki / "client.key"))
    ec2 = start_edgecache(config_text=cfg, origin_url=False)
    r = ec2.get("/cert?cc=no-store")
    assert r.status == 200 and r.header("x-origin-client-cn") == "ec-client", r


def test_bad_ca_file_is_a_config_error(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(group("https://localhost:1", "tls_ca: %s" % (tmp_path / "missing.pem")))
    p = subprocess.run([str(daemon_binary()), "-c", str(cfg), "--check"], capture_output=True, text=True,
                       timeout=20)
    assert p.returncode != 0
    assert "bad.yaml:4: groups[0].tls_ca: cannot load the CA file %s" % (tmp_path / "missing.pem") in p.stderr, p.stderr


def test_active_http_check_over_tls(tls_origin, start_edgecache, pki):
    good, bad = tls_origin(), tls_origin()
    ca = pki / "ca.pem"
    cfg = (
        "groups:\n"
        "  - name: good\n"
        "    hosts: [good.example]\n"
        "    backends: [%s]\n"
        "    tls_ca: %s\n"
        "    health_check: http\n"
        "    health_path: /hc\n"
        "    health_interval: 100ms\n"
        "    health_fall: 1\n"
        "  - name: failing\n"
        "    hosts: [failing.example]\n"
        "    backends: [%s]\n"
        "    tls_ca: %s\n"
        "    health_check: http\n"
        '    health_path: "/hc?status=503"\n'
        "    health_interval: 100ms\n"
        "    health_fall: 1\n"
        "  - name: unverified\n"
        "    hosts: [unverified.example]\n"
        "    backends: [%s]\n"
        "    health_check: http\n"
        "    health_interval: 100ms\n"
        "    health_fall: 1\n" % (good.tls_url(), ca, bad.tls_url(), ca, bad.tls_url("127.0.0.1"))
    )
    ec = start_edgecache(config_text=cfg, origin_url=False)
    wait_for(lambda: "marked down (health check failed: status 503, expected 200)" in ec.stderr_text(), 10,
             "the 503 check over TLS")
    wait_for(lambda: "marked down (health check failed: TLS: certificate verify failed" in ec.stderr_text(), 10,
             "the unverified check")
    time.sleep(0.5)
    assert "origin 127.0.0.1:%d: marked down" % good.port not in ec.stderr_text()
    checks = [e for e in good.log() if e["target"] == "/hc"]
    assert len(checks) >= 3
    r = ec.get("/x?cc=no-store", headers={"Host": "good.example"})
    assert r.status == 200 and r.header("x-origin-sni") == "localhost"


def test_sessions_resumed_on_new_connections(tls_origin, start_edgecache, pki):
    """A new connection to a backend offers the session an earlier one received:
    the origin resumes it (its X-Origin-TLS-Resumed says so, from Python's
    SSLSocket.session_reused) and the worker counts origin_tls_resumed."""
    o = tls_origin()
    ec = start_edgecache("--admin", "127.0.0.1:0",
                         config_text=group(o.tls_url(), "tls_ca: %s" % (pki / "ca.pem")),
                         origin_url=False, admin_off=False, listeners=2)
    seen = []
    for i in range(4):
        # ka=0: the origin closes after each response, so each request makes a new connection
        r = ec.get("/r?cc=no-store&ka=0&i=%d" % i)
        assert r.status == 200, r
        seen.append(r.header("x-origin-tls-resumed"))
    assert o.stats()["connections"] == 4
    assert seen[0] == "0" and seen[1:] == ["1", "1", "1"], seen
    admin = [l for l in ec.listeners if l[2] == "admin"][0]
    c = http.client.HTTPConnection(admin[0], admin[1], timeout=10)
    c.request("GET", "/stats")
    counters = json.loads(c.getresponse().read())["counters"]
    c.close()
    assert counters["origin_tls_handshakes"] == 4 and counters["origin_tls_resumed"] == 3, counters
