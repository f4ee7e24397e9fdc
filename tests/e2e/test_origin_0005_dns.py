# test_origin_0005_dns — a backend given by name: every address the name
# resolves to is a backend; the name is resolved again every
# origin.dns_interval and a change of addresses is picked up without a
# reload; a failed re-resolution keeps the last good addresses. The name
# server is a tiny scripted DNS server on 127.0.0.1 (UDP, A records from a
# table the test changes, SERVFAIL on demand), named in a resolv.conf given
# as origin.dns_resolv_conf; the backends listen on 127.0.0.2 and 127.0.0.3.

import socket
import struct
import threading
import time

import pytest

from e2elib import wait_for
from test_origin_0000_support import count_by_origin, get_many, origins  # noqa: F401


class ScriptedDNS:
    """Answers A queries from self.table {name: [ip, ...]} and AAAA queries from
    self.table6 (no records for a name it lacks), with the TTLs of self.ttl
    {qtype: seconds}; every query with SERVFAIL while self.fail is set."""

    def __init__(self):
        self.table = {}
        self.table6 = {}
        self.ttl = {1: 1, 28: 1}
        self.fail = False
        self.queries = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop_flag = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop_flag:
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(data), peer)
            except Exception:
                pass

    def answer(self, q):
        self.queries += 1
        qid, flags = struct.unpack("!HH", q[:4])
        i, labels = 12, []
        while q[i] != 0:
            labels.append(q[i + 1:i + 1 + q[i]].decode().lower())
            i += 1 + q[i]
        qtype, qclass = struct.unpack("!HH", q[i + 1:i + 5])
        question = q[12:i + 5]
        name = ".".join(labels)
        rcode, answers = 0, []
        if self.fail:
            rcode = 2
        elif name not in self.table and name not in self.table6:
            rcode = 3
        elif qtype == 1:
            answers = [socket.inet_pton(socket.AF_INET, ip) for ip in self.table.get(name, [])]
        elif qtype == 28:
            answers = [socket.inet_pton(socket.AF_INET6, ip) for ip in self.table6.get(name, [])]
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0)
        rrs = b"".join(
            b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, self.ttl[qtype], len(a)) + a for a in answers
        )
        return head + question + rrs

    def close(self):
        self.stop_flag = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def dns(tmp_path):
    d = ScriptedDNS()
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1:%d\n" % d.port)
    d.resolv_conf = conf
    yield d
    d.close()


def free_port_on(*hosts):
    for _ in range(50):
        s = socket.socket()
        s.bind((hosts[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for h in hosts[1:]:
            t = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
            try:
                t.bind((h, port))
            except OSError:
                ok = False
            t.close()
        if ok:
            return port
    raise AssertionError("no common free port")


def test_every_address_and_re_resolution(dns, origins, start_edgecache):
    port = free_port_on("127.0.0.2", "127.0.0.3")
    (o2,) = origins(1, host="127.0.0.2", port=port)
    (o3,) = origins(1, host="127.0.0.3", port=port)
    dns.table["backend.test"] = ["127.0.0.2"]
    ec = start_edgecache("-p", "origin.dns_interval=300ms", "-p", "origin.dns_resolv_conf=%s" % dns.resolv_conf,
                         origin_url="http://backend.test:%d" % port)
    assert get_many(ec, "/one?cc=no-store", 6) == [200] * 6
    assert count_by_origin([o2, o3], "/one") == [6, 0]

    dns.table["backend.test"] = ["127.0.0.3", "127.0.0.2"]
    wait_for(lambda: "dns: backend.test now has 2 addresses (had 1)" in ec.stderr_text(), 10,
             "the second address picked up")
    wait_for(lambda: "dns: backends rebuilt (2)" in ec.stderr_text(), 5, "the new backends")
    assert get_many(ec, "/two?cc=no-store", 10) == [200] * 10
    assert count_by_origin([o2, o3], "/two") == [5, 5]

    dns.fail = True
    wait_for(lambda: "dns: re-resolving backend.test failed" in ec.stderr_text(), 10, "a failed round")
    assert "keeping its 2 addresses" in ec.stderr_text()
    assert get_many(ec, "/kept?cc=no-store", 10) == [200] * 10
    assert count_by_origin([o2, o3], "/kept") == [5, 5]

    dns.fail = False
    dns.table["backend.test"] = ["127.0.0.3"]
    wait_for(lambda: "dns: backend.test now has 1 address (had 2)" in ec.stderr_text(), 10, "back to one")
    wait_for(lambda: ec.stderr_text().count("dns: backends rebuilt") >= 2, 5, "rebuilt again")
    assert get_many(ec, "/three?cc=no-store", 6) == [200] * 6
    assert count_by_origin([o2, o3], "/three") == [0, 6]


def test_unresolvable_name_is_a_load_error(dns, tmp_path):
    import subprocess

    from e2elib import daemon_binary

    p = subprocess.run([str(daemon_binary()), "-o", "http://nowhere.test:80", "-p",
                        "origin.dns_resolv_conf=%s" % dns.resolv_conf, "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "origin nowhere.test: cannot resolve" in p.stderr, p.stderr


def moved_within_ttl(dns, start_edgecache, name, port, what):
    """Starts edgecache on http://NAME:PORT with a minute's interval, lets the
    first round learn the TTLs, moves NAME's A record from 127.0.0.2 to
    127.0.0.3 and asserts that the backends are rebuilt within 5 s."""
    dns.table[name] = ["127.0.0.2"]
    ec = start_edgecache("-p", "origin.dns_interval=60s", "-p", "origin.dns_resolv_conf=%s" % dns.resolv_conf,
                         origin_url="http://%s:%d" % (name, port))
    time.sleep(1.5)  # the first round learns the TTLs
    dns.table[name] = ["127.0.0.3"]
    t0 = time.monotonic()
    wait_for(lambda: "dns: backends rebuilt" in ec.stderr_text(), 10, what)
    assert time.monotonic() - t0 < 5
    return ec


def test_ttl_drives_re_resolution(dns, origins, start_edgecache):
    # the records carry a TTL of 1 s: a change shows within seconds although
    # the interval is a minute
    port = free_port_on("127.0.0.2", "127.0.0.3")
    (o2,) = origins(1, host="127.0.0.2", port=port)
    (o3,) = origins(1, host="127.0.0.3", port=port)
    ec = moved_within_ttl(dns, start_edgecache, "ttl.test", port, "the change within the TTL")
    assert "dns: backends rebuilt (1)" in ec.stderr_text()
    assert get_many(ec, "/ttl?cc=no-store", 4) == [200] * 4
    assert count_by_origin([o2, o3], "/ttl") == [0, 4]


def test_aaaa_ttl_drives_re_resolution(dns, origins, start_edgecache):
    # A records with a TTL of an hour, an AAAA record with 1 s: the AAAA TTL is
    # the shortest, so a change of the A records shows within seconds
    try:
        t = socket.socket(socket.AF_INET6)
        t.bind(("::1", 0))
        t.close()
    except OSError:
        pytest.skip("no ::1 on this machine")
    port = free_port_on("127.0.0.2", "127.0.0.3", "::1")
    (o2,) = origins(1, host="127.0.0.2", port=port)
    (o3,) = origins(1, host="127.0.0.3", port=port)
    (o6,) = origins(1, host="::1", port=port)
    dns.ttl = {1: 3600, 28: 1}
    dns.table6["ttl6.test"] = ["::1"]
    ec = moved_within_ttl(dns, start_edgecache, "ttl6.test", port, "the change within the AAAA TTL")
    assert get_many(ec, "/ttl6?cc=no-store", 4) == [200] * 4
    # ::1 is a backend only where getaddrinfo's AI_ADDRCONFIG keeps IPv6
    assert count_by_origin([o2], "/ttl6") == [0]
    assert sum(count_by_origin([o3, o6], "/ttl6")) == 4
