# test_tls_0003_h2_abuse — HTTP/2 abuse: a raw-socket client (frames built by hand,
# standard library only) floods one connection with rapid resets (CVE-2023-44487),
# CONTINUATION frames, PINGs, SETTINGS, or an HPACK bomb; the daemon answers GOAWAY
# (ENHANCE_YOUR_CALM), logs the event and closes that connection, while a client on
# another connection, mid-request, is still served.

import socket
import struct
import threading

from e2elib import curl, wait_for

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, END_HEADERS = 0x1, 0x4
ENHANCE_YOUR_CALM = 0xB


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_str(b):
    assert len(b) < 127
    return bytes([len(b)]) + b


def request_block(authority=b"a.test", path=None):
    # :method GET (static 2), :scheme http (6), :path / (4) or a literal :path, :authority
    block = b"\x82\x86"
    block += b"\x84" if path is None else b"\x04" + hpack_str(path)
    return block + b"\x01" + hpack_str(authority)


class RawH2:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def frames_until_close(self, timeout=10):
        """Every frame the server sends until it closes: [(type, flags, sid, payload)]."""
        self.s.settimeout(timeout)
        buf = b""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    break
                buf += d
        except (ConnectionResetError, socket.timeout):
            pass
        self.s.close()
        out = []
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            out.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]))
            buf = buf[9 + n:]
        return out


def goaway_code(frames):
    for t, _f, _s, p in frames:
        if t == GOAWAY:
            return int.from_bytes(p[4:8], "big")
    return None


class SlowClient(threading.Thread):
    """A client on its own connection whose response takes a while (h2c)."""

    def __init__(self, ec, path):
        super().__init__(daemon=True)
        self.ec, self.path, self.result = ec, path, None

    def run(self):
        self.result = curl(self.ec.url(self.path), write_out="%{http_code} %{size_download}",
                           http="--http2-prior-knowledge", timeout=30)


def check_flood(ec, origin, name, payload_fn, log_words):
    slow = SlowClient(ec, "/slow-%s?size=5000&delay=1.0" % name)
    slow.start()
    c = RawH2(ec.port)
    payload_fn(c)
    frames = c.frames_until_close()
    assert goaway_code(frames) == ENHANCE_YOUR_CALM, frames[-5:]
    slow.join(30)
    assert slow.result is not None and slow.result.out == "200 5000", slow.result
    r = curl(ec.url("/after-%s?size=10" % name), http="--http2-prior-knowledge")
    assert r.rc == 0 and r.code == 200, r
    wait_for(lambda: log_words in ec.stderr_text(), 5, "the %s log line" % name)
    assert ec.alive()


def test_rapid_reset_flood(start_edgecache, origin):
    ec = start_edgecache()

    def flood(c):
        out = b""
        for i in range(1000):
            sid = 2 * i + 1
            out += frame(HEADERS, END_STREAM | END_HEADERS, sid, request_block(path=b"/rr?size=10"))
            out += frame(RST_STREAM, 0, sid, struct.pack(">I", 8))  # CANCEL
        c.send(out)

    check_flood(ec, origin, "rr", flood, "rapid reset (RST_STREAM flood): GOAWAY")
    # no more than the reset budget (200 a window) of the 1000 streams reached the
    # origin before the connection ended
    assert origin.stats()["paths"].get("/rr", 0) <= 201


def test_continuation_flood(start_edgecache, origin):
    ec = start_edgecache()

    def flood(c):
        out = frame(HEADERS, 0, 1, request_block())
        for i in range(5000):
            out += frame(CONTINUATION, 0, 1, b"\x00" + hpack_str(b"x-a") + hpack_str(b"b"))
            if len(out) > 65536:
                if not c.send(out):
                    return
                out = b""
        c.send(out)

    check_flood(ec, origin, "cont", flood, "CONTINUATION flood: GOAWAY")


def test_ping_flood(start_edgecache, origin):
    ec = start_edgecache()
    check_flood(ec, origin, "ping", lambda c: c.send(frame(PING, 0, 0, b"12345678") * 1000),
                "PING flood: GOAWAY")


def test_settings_flood(start_edgecache, origin):
    ec = start_edgecache()
    check_flood(ec, origin, "settings", lambda c: c.send(frame(SETTINGS, 0, 0) * 1000),
                "SETTINGS flood: GOAWAY")


def test_hpack_bomb(start_edgecache, origin):
    ec = start_edgecache()

    def bomb(c):
        # one 4000-byte field enters the dynamic table (index 62), then 200
        # one-byte references to it: ~6 KB on the wire, ~800 KB decoded
        v = b"v" * 4000
        lit = b"\x40" + hpack_str(b"x-big") + hpack_int7(len(v)) + v
        block = request_block() + lit + b"\xbe" * 200
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block))

    check_flood(ec, origin, "bomb", bomb, "header list over limits.header_block (HPACK bomb?): GOAWAY")


def hpack_int7(n):
    """A string length with a 7-bit prefix (no Huffman)."""
    if n < 127:
        return bytes([n])
    out = [127]
    n -= 127
    while n >= 128:
        out.append((n % 128) + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def test_concurrent_stream_limit(start_edgecache, origin):
    """130 slow streams at once on one connection: the 128 the SETTINGS allow are
    answered (one coalesced origin request), the 2 beyond the limit are reset, and the
    connection survives."""
    ec = start_edgecache()
    c = RawH2(ec.port)
    out = b""
    for i in range(130):
        out += frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1,
                     request_block(path=b"/limit?size=10&cc=max-age%3D60&delay=1"))
    c.send(out)
    c.s.settimeout(4)
    buf = b""
    try:
        while True:
            d = c.s.recv(65536)
            if not d:
                break
            buf += d
            done = buf.count(b"\x00\x00\x0a\x00\x01")  # 10-byte DATA frames with END_STREAM
            if done >= 128:
                break
    except socket.timeout:
        pass
    c.s.close()
    frames, i = [], 0
    while i + 9 <= len(buf):
        n = int.from_bytes(buf[i:i + 3], "big")
        frames.append((buf[i + 3], buf[i + 4], int.from_bytes(buf[i + 5:i + 9], "big"), buf[i + 9:i + 9 + n]))
        i += 9 + n
    resets = [f for f in frames if f[0] == RST_STREAM]
    answered = {f[2] for f in frames if f[0] == DATA and f[1] & END_STREAM}
    assert len(resets) == 2, frames[-5:]
    assert len(answered) == 128, len(answered)
    assert goaway_code(frames) is None
    assert origin.stats()["paths"].get("/limit", 0) == 1


def test_hpack_bomb_in_trailers(start_edgecache, origin):
    ec = start_edgecache()

    def bomb(c):
        # a POST whose body ends with a trailer block that decodes to ~800 KB
        block = b"\x83\x86\x04" + hpack_str(b"/trailer-bomb") + b"\x01" + hpack_str(b"a.test")
        c.send(frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, 0, 1, b"x" * 10))
        v = b"v" * 4000
        trailers = b"\x40" + hpack_str(b"x-big") + hpack_int7(len(v)) + v + b"\xbe" * 200
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, trailers))

    check_flood(ec, origin, "tbomb", bomb, "header list over limits.header_block (HPACK bomb?): GOAWAY")
