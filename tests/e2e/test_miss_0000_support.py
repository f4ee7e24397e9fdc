# test_miss_0000_support — the concurrent client shared by the test_miss_* scenarios
# (miss handling: coalescing, read-while-write, uncacheable responses, writer
# failure, disconnecting clients, stale-while-revalidate, stale-if-error, the
# coalescing timeouts), and checks of that client against the test origin alone:
# if these fail, the scenarios' timings mean nothing.
#
# burst(port, requests) opens one connection per request at once and drives them
# all from one thread with a selector, recording for each response when its
# first byte, its complete head and each later piece arrived (time.monotonic()),
# so a scenario can say "the first half of the body reached the client before
# the origin sent the rest" or "200 responses took 1.1 s in all". A request can
# also be told to disconnect right after sending or after some body bytes.

import selectors
import socket
import time

from e2elib import Client, build_request, pattern_bytes, target


class Shot:
    """One connection of a burst: what it sent and what came back, with times relative
    to the burst's start (seconds)."""

    def __init__(self, raw, method, quit_after=None, port=None):
        self.raw = raw
        self.port = port  # None: the burst's
        self.method = method
        self.quit_after = quit_after  # None, or "sent", or a number of body bytes
        self.sock = None
        self.sent = 0
        self.buf = bytearray()
        self.pieces = []  # (t, total bytes received so far)
        self.head_len = None  # bytes of the response head, once complete
        self.t_sent = None
        self.t_first = None  # first response byte
        self.t_head = None  # complete head
        self.t_done = None  # complete response (or EOF / quit)
        self.eof = False
        self.quit = False  # we closed it on purpose
        self.error = None
        self.response = None  # e2elib.Response once complete and valid

    # -- bookkeeping over the recorded pieces
    def t_body(self, n):
        """When the first n body bytes (on the wire, after the head) had arrived; None if never."""
        if self.head_len is None:
            return None
        for t, total in self.pieces:
            if total - self.head_len >= n:
                return t
        return None

    def body_wire(self):
        """The body bytes as received (before any chunked decoding)."""
        return bytes(self.buf[self.head_len:]) if self.head_len is not None else b""

    def complete(self):
        """Whether the bytes received hold a complete response (by its own framing)."""
        if self.head_len is None:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return False
            self.head_len = i + 4
        head = bytes(self.buf[: self.head_len]).lower()
        status = int(head[9:12])
        if self.method == "HEAD" or status in (204, 304) or status < 200:
            return True
        for line in head.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                return len(self.buf) - self.head_len >= int(line.split(b":", 1)[1])
            if line.startswith(b"transfer-encoding:") and b"chunked" in line:
                return self.buf.endswith(b"\r\n0\r\n\r\n") or bytes(self.buf[self.head_len:]) == b"0\r\n\r\n"
        return False  # close-delimited: done at EOF

    def parse(self):
        """Parses the received bytes strictly (e2elib's reader); raises IncompleteResponse /
        MalformedResponse like Client.read_response."""
        c = Client.__new__(Client)
        c.sock = None
        c.timeout = 0
        c.buf = bytearray(self.buf)
        c.eof = True
        return c.read_response(self.method, timeout=1)

    def __repr__(self):
        return "<Shot %s first=%s head=%s done=%s bytes=%d eof=%s quit=%s err=%s %r>" % (
            self.method, self.t_first, self.t_head, self.t_done, len(self.buf), self.eof,
            self.quit, self.error, bytes(self.buf[:300]))


def shot(tgt, method="GET", headers=None, quit_after=None, port=None):
    """A request for burst(): tgt on a fresh connection, Connection: close not sent (the
    connection stays open until the whole response is in, then we close it); to the
    burst's port unless `port` names another (e.g. the origin's, for a baseline measured
    under the same load)."""
    return Shot(build_request(method, tgt, headers), method, quit_after, port)


def burst(port, shots, timeout=10.0, stagger=0.0):
    """Connects every shot at once (stagger seconds apart), sends its request, reads its
    response; returns (shots, t0) where times in the shots are relative to t0
    (time.monotonic()). A shot that is not complete within timeout gets .error."""
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    pending = 0
    for i, s in enumerate(shots):
        if stagger and i:
            time.sleep(stagger)
        s.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sock.setblocking(False)
        try:
            s.sock.connect(("127.0.0.1", s.port or port))
        except BlockingIOError:
            pass
        sel.register(s.sock, selectors.EVENT_WRITE, s)
        pending += 1
    deadline = t0 + timeout
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, ev in sel.select(min(left, 0.5)):
            s = key.data
            now = time.monotonic() - t0
            if ev & selectors.EVENT_WRITE:
                try:
                    n = s.sock.send(s.raw[s.sent:])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    s.error = "send: %r" % e
                    s.t_done = now
                    sel.unregister(s.sock)
                    s.sock.close()
                    pending -= 1
                    continue
                s.sent += n
                if s.sent == len(s.raw):
                    s.t_sent = now
                    if s.quit_after == "sent":
                        s.quit = True
                        s.t_done = now
                        sel.unregister(s.sock)
                        s.sock.close()
                        pending -= 1
                        continue
                    sel.modify(s.sock, selectors.EVENT_READ, s)
                continue
            try:
                data = s.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                if s.t_first is None:
                    s.t_first = now
                s.buf += data
                s.pieces.append((now, len(s.buf)))
            else:
                s.eof = True
            done = s.eof or s.complete()
            if s.head_len is not None and s.t_head is None:
                s.t_head = now
            if (not done and s.quit_after not in (None, "sent") and s.head_len is not None
                    and len(s.buf) - s.head_len >= s.quit_after):
                s.quit = True
                done = True
            if done:
                s.t_done = now
                sel.unregister(s.sock)
                s.sock.close()
                pending -= 1
                if not s.quit:
                    try:
                        s.response = s.parse()
                    except AssertionError as e:
                        s.error = "parse: %s" % e
    for s in shots:
        if s.t_done is None:
            s.error = "not complete after %.1f s" % timeout
            try:
                sel.unregister(s.sock)
            except (KeyError, ValueError):
                pass
            s.sock.close()
    sel.close()
    return shots, t0


def wall(shots):
    """Seconds from the burst's start to the last completed shot."""
    return max(s.t_done for s in shots if s.t_done is not None)


def baseline(origin, path, n, **params):
    """n shots straight to the origin for `path` with the same parameters: sent in the same
    burst as the shots through the daemon, their wall time is what n parallel exchanges
    with this origin cost on this machine at that moment."""
    return [shot(target(path, **params), port=origin.port) for _ in range(n)]


def check_all_ok(shots, body, status=200):
    """Every shot has a valid, complete response with this status and body."""
    bad = [s for s in shots if s.error or s.response is None or s.response.status != status
           or s.response.body != body]
    assert not bad, "%d of %d responses wrong, e.g. %r" % (len(bad), len(shots), bad[:3])


# ---- checks of the client against the origin alone -------------------------------


def test_burst_runs_requests_in_parallel(origin):
    tgt = target("/p", size=1000, delay=0.5)
    shots, _ = burst(origin.port, [shot(tgt) for _ in range(50)])
    check_all_ok(shots, pattern_bytes(1000))
    # one after the other they would take 25 s; in parallel 0.5 s and what a loaded box adds
    assert wall(shots) < 2.5, "50 requests of 0.5 s each took %.2f s: not parallel" % wall(shots)
    assert origin.stats()["paths"]["/p"] == 50


def test_burst_times_the_pieces_of_a_body(origin):
    tgt = target("/half", size=20000, body_delay=0.5)
    shots, _ = burst(origin.port, [shot(tgt, headers=[("X-N", str(i))]) for i in range(3)])
    check_all_ok(shots, pattern_bytes(20000))
    for s in shots:
        t_half, t_all = s.t_body(10000), s.t_body(20000)
        assert t_half is not None and t_all - t_half >= 0.4, s.pieces


def test_burst_mixes_ports(origin, edgecache):
    tgt = target("/mix", size=10)
    shots, _ = burst(edgecache.port, [shot(tgt), shot(tgt, port=origin.port)])
    check_all_ok(shots, pattern_bytes(10))
    assert shots[0].response.header("via") and not shots[1].response.header("via")


def test_burst_quits_when_told(origin):
    tgt = target("/q", size=50000, body_delay=0.5)
    shots, _ = burst(origin.port, [shot(tgt, quit_after="sent"), shot(tgt, quit_after=100), shot(tgt)])
    assert shots[0].quit and shots[0].response is None and not shots[0].buf
    assert shots[1].quit and len(shots[1].body_wire()) >= 100 and shots[1].t_done < 0.4
    assert shots[2].response.body == pattern_bytes(50000)
