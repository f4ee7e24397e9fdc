# test_tls_0000_support — helpers shared by the test_tls_* scenarios (TLS termination
# and HTTP/2 to clients), and a check of the certificates they generate.
#
#   pki            a module-scoped test PKI made with the openssl command: a CA, a
#                  certificate for a.test (the default: listed first), one for
#                  *.wild.test and one for b.test, each key beside it
#   start_tls      start_edgecache plus a TLS listener and the pki certificates;
#                  .tls_port is the https listener's port
#   tls_url(ec, host, path)    https://HOST:PORT/path (curl gets --resolve HOST)
#   curl_tls(ec, host, path, *args, http=...)   curl over TLS trusting the test CA
#   served_cn(ec, sni)         the certificate subject CN the daemon presents for SNI

import subprocess
from pathlib import Path

import pytest

from e2elib import curl


def _run(*cmd, cwd=None):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, cwd=cwd, timeout=60)
    assert p.returncode == 0, "%s failed: %s" % (cmd, p.stderr.decode()[-2000:])
    return p


class PKI:
    def __init__(self, d):
        self.dir = Path(d)
        self.ca = self.dir / "ca.pem"
        self.ca_key = self.dir / "ca.key"
        _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "2",
             "-subj", "/CN=edgecache test CA")
        self.certs = {}
        for name, fname in (("a.test", "a"), ("*.wild.test", "wild"), ("b.test", "b")):
            self.certs[name] = self.issue(name, fname)

    def issue(self, name, fname):
        key = self.dir / (fname + ".key")
        csr = self.dir / (fname + ".csr")
        pem = self.dir / (fname + ".pem")
        ext = self.dir / (fname + ".ext")
        ext.write_text("subjectAltName=DNS:%s\n" % name)
        _run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=%s" % name)
        _run("openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
             "-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext)
        return (pem, key)

    def cert_args(self, names=("a.test", "*.wild.test", "b.test")):
        out = []
        for n in names:
            pem, key = self.certs[n]
            out += ["--cert", "%s,%s" % (pem, key)]
        return out


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def start_tls(start_edgecache, pki):
    def start(*extra, certs=None, **kw):
        args = ["--tls-listen", "127.0.0.1:0"] + (certs if certs is not None else pki.cert_args())
        kw.setdefault("listeners", 2)
        ec = start_edgecache(*(args + list(extra)), **kw)
        tls = [l for l in ec.listeners if l[2] == "https"]
        assert tls, "no https listener in %r" % ec.listeners
        ec.tls_port = tls[0][1]
        ec.pki = pki
        return ec

    return start


def tls_url(ec, host, path):
    return "https://%s:%d%s" % (host, ec.tls_port, path)


def curl_tls(ec, host, path, *args, http="--http2", output=None, write_out="%{http_code} %{http_version}"):
    return curl(tls_url(ec, host, path), "--cacert", ec.pki.ca, "--resolve",
                "%s:%d:127.0.0.1" % (host, ec.tls_port), *args, http=http, output=output,
                write_out=write_out)


def s_client(ec, sni, *extra, data=b""):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % ec.tls_port, "-CAfile",
           str(ec.pki.ca)]
    if sni is not None:
        cmd += ["-servername", sni]
    cmd += [str(e) for e in extra]
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def served_cn(ec, sni):
    out = s_client(ec, sni)
    for line in out.splitlines():
        if line.startswith("subject="):
            return line.split("CN = ", 1)[1].strip()
    raise AssertionError("no subject in s_client output:\n" + out)


def test_pki_certificates_verify(pki):
    for name, (pem, _key) in pki.certs.items():
        out = _run("openssl", "verify", "-CAfile", pki.ca, pem).stdout.decode()
        assert out.strip().endswith("OK"), out
