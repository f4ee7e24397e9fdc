# test_tls_0004_sessions — TLS session resumption with tickets whose keys every worker
# shares (TLS 1.3 and 1.2, openssl s_client -sess_out/-sess_in), OCSP stapling of
# CERT.pem.ocsp, and a SIGHUP that brings new certificates to new connections while an
# open TLS connection goes on being served.

import datetime
import shutil
import socket
import ssl
import subprocess

from e2elib import wait_for
from test_tls_0000_support import _run, pki, s_client, start_tls  # noqa: F401

REQ = b"GET /resume?size=10 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"


def resume_once(ec, sess, *extra):
    first = s_client(ec, "a.test", "-sess_out", sess, "-ign_eof", *extra, data=REQ)
    assert "HTTP/1.1 200" in first, first
    again = s_client(ec, "a.test", "-sess_in", sess, "-ign_eof", *extra, data=REQ)
    assert "HTTP/1.1 200" in again, again
    return again


def test_ticket_resumption_across_workers(start_tls, tmp_path):
    ec = start_tls(workers=2)
    for version in ("-tls1_3", "-tls1_2"):
        for i in range(4):  # SO_REUSEPORT spreads these over both workers
            sess = tmp_path / ("sess%s-%d" % (version, i))
            out = resume_once(ec, sess, version)
            assert "Reused, TLSv1." in out, out
    # a session the daemon never issued is not resumed (full handshake)
    sess = tmp_path / "foreign"
    other = start_tls(workers=1)
    first = s_client(other, "a.test", "-sess_out", sess, "-ign_eof", data=REQ)
    assert "HTTP/1.1 200" in first
    out = s_client(ec, "a.test", "-sess_in", sess, "-ign_eof", data=REQ)
    assert "HTTP/1.1 200" in out and "New, TLSv1.3" in out, out


def make_ocsp(pki, pem, dest, cn="a.test"):
    serial = _run("openssl", "x509", "-in", pem, "-noout", "-serial").stdout.decode().strip().split("=")[1]
    end = _run("openssl", "x509", "-in", pem, "-noout", "-enddate").stdout.decode().strip().split("=")[1]
    when = datetime.datetime.strptime(end.replace(" GMT", ""), "%b %d %H:%M:%S %Y")
    index = dest.parent / ("index-%s.txt" % serial)
    index.write_text("V\t%s\t\t%s\tunknown\t/CN=%s\n" % (when.strftime("%y%m%d%H%M%SZ"), serial, cn))
    _run("openssl", "ocsp", "-index", index, "-rsigner", pki.ca, "-rkey", pki.ca_key, "-CA", pki.ca,
         "-issuer", pki.ca, "-cert", pem, "-respout", dest, "-ndays", "1")


def test_ocsp_stapling(start_tls, pki, tmp_path):
    pem, key = pki.certs["a.test"]
    d = tmp_path / "ocsp"
    d.mkdir()
    cert = d / "a.pem"
    shutil.copy(pem, cert)
    make_ocsp(pki, cert, d / "a.pem.ocsp")
    w_pem, w_key = pki.certs["*.wild.test"]
    wcert = d / "wild.pem"
    shutil.copy(w_pem, wcert)
    make_ocsp(pki, wcert, d / "wild.pem.ocsp", cn="*.wild.test")
    b_pem, b_key = pki.certs["b.test"]
    ec = start_tls(certs=["--cert", "%s,%s" % (cert, key), "--cert", "%s,%s" % (wcert, w_key),
                          "--cert", "%s,%s" % (b_pem, b_key)])
    for sni in ("a.test", "x.wild.test"):  # the default certificate, and one SNI picks
        out = s_client(ec, sni, "-status")
        assert "OCSP Response Status: successful" in out, out
        assert "Cert Status: good" in out, out
        serial = _run("openssl", "x509", "-in", cert if sni == "a.test" else wcert, "-noout",
                      "-serial").stdout.decode().strip().split("=")[1]
        assert "Serial Number: " + serial in out, out
    # b.test has no .ocsp file: nothing stapled
    out = s_client(ec, "b.test", "-status")
    assert "OCSP response: no response sent" in out, out
    # a file that is not an OCSP response is a startup error naming it
    (d / "a.pem.ocsp").write_bytes(b"not der")
    p = subprocess.run([str(ec.binary), "--check", "-l", "127.0.0.1:0", "-o", "http://127.0.0.1:9",
                        "--tls-listen", "127.0.0.1:0", "--cert", "%s,%s" % (cert, key)],
                       capture_output=True, timeout=30)
    assert p.returncode != 0 and "a.pem.ocsp" in p.stderr.decode(), p.stderr


def peer_serial(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="a.test") as t:
            der = t.getpeercert(binary_form=True)
    return der


def der_of(pem):
    return ssl.PEM_cert_to_DER_cert(open(pem).read())


def test_sighup_reloads_certificates_keeping_connections(start_tls, pki, tmp_path):
    old_pem, old_key = pki.certs["a.test"]
    new_pem, new_key = pki.issue("a.test", "a-renewed")
    conf = "certs:\n  - {cert: %s, key: %s}\n"
    ec = start_tls(certs=[], config_text=conf % (old_pem, old_key))
    assert peer_serial(ec.tls_port) == der_of(old_pem)
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", ec.tls_port), timeout=10)
    keep = ctx.wrap_socket(raw, server_hostname="a.test")
    get = b"GET /keep?size=100 HTTP/1.1\r\nHost: a.test\r\n\r\n"
    keep.sendall(get)
    assert keep.recv(65536).startswith(b"HTTP/1.1 200")
    ec.reload(conf % (new_pem, new_key))
    wait_for(lambda: peer_serial(ec.tls_port) == der_of(new_pem), 5, "the renewed certificate")
    keep.sendall(get)
    assert keep.recv(65536).startswith(b"HTTP/1.1 200"), "the open connection was dropped"
    keep.close()
    # a reload whose key does not match keeps the running certificates
    ec.reload(conf % (new_pem, old_key))
    wait_for(lambda: "reload failed" in ec.stderr_text(), 5, "the failed reload's log line")
    assert peer_serial(ec.tls_port) == der_of(new_pem)


def test_ticket_keys_from_files(start_tls, tmp_path):
    """tls_ticket_keys: instances sharing a key file resume each other's tickets
    (TLS 1.3 and 1.2); a second file only decrypts; the keys survive a restart;
    a file of the wrong size is a config error naming the key and the file."""
    import os
    k1, k0 = tmp_path / "t1.key", tmp_path / "t0.key"
    k1.write_bytes(os.urandom(80))
    k0.write_bytes(os.urandom(80))
    a = start_tls("-p", "tls_ticket_keys=%s" % k1)
    b = start_tls("-p", "tls_ticket_keys=%s %s" % (k0, k1))
    for version in ("-tls1_3", "-tls1_2"):
        sess = tmp_path / ("a%s" % version)
        first = s_client(a, "a.test", "-sess_out", sess, "-ign_eof", version, data=REQ)
        assert "HTTP/1.1 200" in first, first
        out = s_client(b, "a.test", "-sess_in", sess, "-ign_eof", version, data=REQ)
        assert "HTTP/1.1 200" in out and "Reused, TLSv1." in out, out
    # b encrypts with k0, which a does not know: a full handshake there
    sess = tmp_path / "b"
    assert "HTTP/1.1 200" in s_client(b, "a.test", "-sess_out", sess, "-ign_eof", data=REQ)
    out = s_client(a, "a.test", "-sess_in", sess, "-ign_eof", data=REQ)
    assert "HTTP/1.1 200" in out and "New, TLSv1.3" in out, out
    # a restart keeps the keys: a ticket from before resumes after
    sess = tmp_path / "restart"
    assert "HTTP/1.1 200" in s_client(a, "a.test", "-sess_out", sess, "-ign_eof", data=REQ)
    a.stop()
    a2 = start_tls("-p", "tls_ticket_keys=%s" % k1)
    out = s_client(a2, "a.test", "-sess_in", sess, "-ign_eof", data=REQ)
    assert "Reused, TLSv1.3" in out, out
    # wrong size: refused by --check, naming the key and the file
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 79)
    pem, key = a.pki.certs["a.test"]
    p = subprocess.run([str(a.binary), "--check", "-l", "127.0.0.1:0", "-o", "http://127.0.0.1:9",
                        "--tls-listen", "127.0.0.1:0", "--cert", "%s,%s" % (pem, key),
                        "-p", "tls_ticket_keys=%s" % short], capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode != 0 and "tls_ticket_keys" in err and "short.key' has 79 bytes" in err, err
