# e2elib — the end-to-end harness's library: starting and stopping the test
# origin (tools/ec-testorigin) and the real daemon (src/edgecache), raw-socket
# HTTP/1.x clients with a small strict response reader, curl, and access-log
# parsing. conftest.py turns these into pytest fixtures; scenarios import the
# helpers directly (`from e2elib import Client, ...`).
#
# Everything here runs on the pytest thread; the processes it starts are owned
# by the fixture that started them and stopped at its teardown.
#
# Standard library only (Debian's python3 and python3-pytest).

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP_SRCDIR = HERE.parent.parent

# The line the daemon writes to stderr for each listener before it accepts.
LISTEN_RE = re.compile(r"^edgecache: listening on (\S+):(\d+) \((\w+)\)\s*$")

# How long teardown waits after SIGTERM before SIGKILL: the daemon's default
# drain_timeout (10 s) plus a margin, so that a drain that ends on time is not
# mistaken for a hang.
STOP_WAIT_S = 12

# Strings that mean a sanitizer found something (ASan, LSan, UBSan, TSan).
SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "WARNING: ThreadSanitizer",
    "runtime error:",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
)


def daemon_binary():
    """The daemon: $EDGECACHE (set by make check), else ../../src/edgecache from here."""
    env = os.environ.get("EDGECACHE")
    return Path(env) if env else (TOP_SRCDIR / "src" / "edgecache")


def origin_script():
    """The test origin: $EC_TESTORIGIN, else tools/ec-testorigin in the source tree."""
    env = os.environ.get("EC_TESTORIGIN")
    return Path(env) if env else (TOP_SRCDIR / "tools" / "ec-testorigin")


FIGURES = []


def record_figure(text):
    """Keeps a measured figure (memory, throughput) for the end-of-run summary, which
    conftest.py prints even when every test passes."""
    FIGURES.append(text)
    print(text)


def die_with_parent():
    """preexec_fn for the processes we start: SIGKILL them if pytest dies (killed by a
    timeout, ^C twice) so no daemon or origin outlives its run (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:
        pass


def wait_for(pred, timeout, what="condition", interval=0.02):
    """Polls pred() until it returns a true value (returned) or timeout seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def target(path="/", **params):
    """Origin-form target: path plus the query built from params (lists repeat a key)."""
    if not path.startswith("/"):
        path = "/" + path
    if not params:
        return path
    items = []
    for k, v in params.items():
        for one in v if isinstance(v, (list, tuple)) else [v]:
            items.append((k, str(one)))
    return path + "?" + urllib.parse.urlencode(items, quote_via=urllib.parse.quote, safe=":,/=;*")


def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail_text(path, limit=20000):
    """The last limit characters of a text file ('' if it does not exist)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if len(text) > limit:
        text = "[... %d characters cut ...]\n" % (len(text) - limit) + text[-limit:]
    return text


def proc_status(pid):
    """/proc/PID/status as {field: value string}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def binary_has_asan(path):
    """True when the binary was built with AddressSanitizer (it references __asan_init)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ---- the test origin ----------------------------------------------------------


class Origin:
    """A running tools/ec-testorigin on 127.0.0.1 with its control API."""

    name = "ec-testorigin"

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / "origin.stdout"
        self.stderr_path = self.workdir / "origin.stderr"
        port_file = self.workdir / "origin.port"
        cmd = [sys.executable, str(origin_script()), "--port", "0", "--port-file", str(port_file)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, preexec_fn=die_with_parent
            )

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    "ec-testorigin exited with %s:\n%s" % (self.proc.returncode, tail_text(self.stderr_path))
                )
            return port_file.exists()

        wait_for(ready, 10, "ec-testorigin to write its port file")
        self.host = "127.0.0.1"
        self.port = int(port_file.read_text().strip())

    @property
    def addr(self):
        """'127.0.0.1:PORT', as the daemon's access log names a backend."""
        return "%s:%d" % (self.host, self.port)

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def url(self, path="/", **params):
        """Absolute URL on the origin itself (bypassing the daemon)."""
        return self.base_url + target(path, **params)

    def control(self, method, path):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            c.request(method, path, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, "origin %s %s: %d" % (method, path, r.status)
            return json.loads(body)
        finally:
            c.close()

    def stats(self):
        """{"requests": N, "connections": N, "open": N, "paths": {path: N}} since the last reset."""
        return self.control("GET", "/__stats")

    def log(self):
        """Requests seen since the last reset: [{method, target, version, headers, body_len,
        body_sha256, trailers, conn_id, error}]; headers are [[name, value], ...] as received."""
        return self.control("GET", "/__log")

    def reset(self):
        self.control("POST", "/__reset")

    def stderr_text(self):
        return tail_text(self.stderr_path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def req_header(entry, name):
    """Values of a header field in an origin log entry or echo JSON (case-insensitive)."""
    low = name.lower()
    return [v for (n, v) in entry["headers"] if n.lower() == low]


# ---- the daemon ----------------------------------------------------------------


class Edgecache:
    """One src/edgecache process started by the start_edgecache fixture.

    args is the full argument list after the binary. Its stderr goes to
    WORKDIR/edgecache.stderr; the listening lines on it give .listeners and .port."""

    name = "edgecache"

    def __init__(self, args, workdir, expect_listeners=1, env=None):
        self.binary = daemon_binary()
        self.args = [str(a) for a in args]
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / "edgecache.stdout"
        self.stderr_path = self.workdir / "edgecache.stderr"
        self.config_path = None
        self.access_log = None
        self.listeners = []
        self.port = None
        self.host = "127.0.0.1"
        self.stopped_by_test = False
        self.killed = False
        self.expected_exit = None
        if not self.binary.exists():
            raise AssertionError("daemon not built: %s (set EDGECACHE)" % self.binary)
        full_env = dict(os.environ)
        full_env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        if env:
            full_env.update(env)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(self.binary)] + self.args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=full_env,
                preexec_fn=die_with_parent,
            )
        self.pid = self.proc.pid
        self._wait_listening(expect_listeners)

    def _wait_listening(self, n):
        def ready():
            found = []
            for line in tail_text(self.stderr_path, 1 << 20).splitlines():
                m = LISTEN_RE.match(line)
                if m:
                    found.append((m.group(1), int(m.group(2)), m.group(3)))
            if len(found) >= n:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(
                    "edgecache exited (%s) before listening; args %s; stderr:\n%s"
                    % (self.proc.returncode, self.args, tail_text(self.stderr_path))
                )
            return None

        self.listeners = wait_for(ready, 15, "edgecache's 'listening on' line(s) on stderr")
        http_ls = [l for l in self.listeners if l[2] == "http"] or self.listeners
        self.host, self.port = http_ls[0][0], http_ls[0][1]

    # -- addressing
    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def url(self, path="/", **params):
        """Absolute URL through the daemon."""
        return self.base_url + target(path, **params)

    def client(self, timeout=5.0):
        """A new raw-socket Client connected to the daemon's first http listener."""
        return Client(self.port, self.host, timeout=timeout)

    def get(self, tgt, headers=None, method="GET", body=None, timeout=10.0):
        """One request on a fresh connection; returns the final Response."""
        with self.client(timeout) as c:
            c.request(method, tgt, headers=headers, body=body)
            return c.read_final(method=method)

    # -- process control
    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for the daemon to exit; returns its returncode (negative: killed by that signal)."""
        return self.proc.wait(timeout)

    def stop(self, timeout=None):
        """SIGTERM, wait timeout seconds (default STOP_WAIT_S), then SIGKILL. Returns the
        returncode."""
        if timeout is None:
            timeout = STOP_WAIT_S
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def reload(self, config_text):
        """Rewrites the -c file and sends SIGHUP."""
        assert self.config_path is not None, "started without config_text"
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(config_text)
        os.rename(tmp, self.config_path)
        self.signal(signal.SIGHUP)

    # -- observation
    def stderr_text(self):
        return tail_text(self.stderr_path)

    def status(self):
        return proc_status(self.pid)

    def vm_hwm_kb(self):
        """Peak resident set size (VmHWM) in KiB."""
        return int(self.status()["VmHWM"].split()[0])

    def is_asan(self):
        return binary_has_asan(self.binary)

    def problems(self):
        """Stops the daemon if it runs and lists what went wrong with the process itself:
        death by a signal, no exit within STOP_WAIT_S of SIGTERM, a non-zero exit status, a
        sanitizer report on stderr."""
        out = []
        was_running = self.proc.poll() is None
        rc = self.stop(STOP_WAIT_S)
        if self.killed:
            out.append("edgecache did not exit within %d s of SIGTERM (SIGKILLed)" % STOP_WAIT_S)
        elif rc is not None and rc < 0:
            out.append("edgecache died with signal %s" % signal.Signals(-rc).name)
        elif self.expected_exit is not None:
            if rc != self.expected_exit:
                out.append("edgecache exited with status %d, expected %d" % (rc, self.expected_exit))
        elif rc != 0:
            out.append(
                "edgecache exited with status %d%s"
                % (rc, " after SIGTERM" if was_running else " during the test")
            )
        text = tail_text(self.stderr_path, 1 << 22)
        for mark in SANITIZER_MARKS:
            if mark in text:
                out.append("sanitizer report on edgecache's stderr (%r)" % mark)
                break
        return out


# ---- raw-socket HTTP/1.x client -------------------------------------------------


class IncompleteResponse(AssertionError):
    """The connection closed (or reset) before a complete response; .partial holds the raw bytes."""

    def __init__(self, why, partial):
        AssertionError.__init__(self, "%s; got %d bytes: %r" % (why, len(partial), bytes(partial[:600])))
        self.why = why
        self.partial = bytes(partial)


class MalformedResponse(AssertionError):
    """The bytes received are not a valid HTTP/1.1 response."""

    def __init__(self, why, partial):
        AssertionError.__init__(self, "%s; raw: %r" % (why, bytes(partial[:600])))
        self.why = why
        self.partial = bytes(partial)


class Response:
    """One parsed response. headers is [(name, value)] in wire order; body is the
    decoded payload; raw is every byte of this response as received; framing is
    'none', 'length', 'chunked' or 'close'."""

    def __init__(self):
        self.version = None
        self.status = None
        self.reason = None
        self.headers = []
        self.trailers = []
        self.body = b""
        self.raw = b""
        self.framing = None

    def header(self, name):
        """First value of a field (case-insensitive), or None."""
        v = self.header_all(name)
        return v[0] if v else None

    def header_all(self, name):
        low = name.lower()
        return [v for (n, v) in self.headers if n.lower() == low]

    def tokens(self, name):
        """Comma-separated, lower-cased tokens of every instance of a field."""
        out = []
        for v in self.header_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %s %s %r body=%d bytes framing=%s>" % (
            self.status, self.reason, self.headers, len(self.body), self.framing)


TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
STATUS_RE = re.compile(rb"^HTTP/1\.([01]) ([0-9]{3}) ([^\r\n]*)$")


def build_request(method, tgt, headers=None, body=None, version="HTTP/1.1", host="example.test"):
    """Raw request bytes. headers is a list of (name, value) or a dict; Host is added
    unless given (host=None adds none); Content-Length is added for a bytes body
    unless Content-Length or Transfer-Encoding is given."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    names = set(n.lower() for n, _ in headers)
    if host is not None and "host" not in names:
        headers.insert(0, ("Host", host))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    out = "%s %s %s\r\n" % (method, tgt, version)
    out += "".join("%s: %s\r\n" % (n, v) for n, v in headers) + "\r\n"
    data = out.encode("latin-1")
    if body is not None:
        data += body if isinstance(body, bytes) else body.encode()
    return data


class Client:
    """A raw TCP connection with a read buffer and a strict HTTP/1.1 response reader."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        """Sends bytes (str is latin-1 encoded) completely."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def request(self, method, tgt, headers=None, body=None, version="HTTP/1.1", host="example.test"):
        """Sends one request built by build_request()."""
        self.send(build_request(method, tgt, headers, body, version, host))

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def recv_some(self, timeout=1.0):
        """Whatever arrives within timeout (b'' on EOF or nothing); consumes it."""
        try:
            self._fill(time.monotonic() + timeout)
        except socket.timeout:
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def poll(self, timeout):
        """Waits up to timeout seconds for data or EOF, keeping data buffered; True if
        either arrived."""
        if self.buf or self.eof:
            return True
        try:
            self._fill(time.monotonic() + timeout)
        except socket.timeout:
            return False
        return True

    def closed(self, timeout=2.0):
        """True if the peer closes (recv returns b'' or reset) within timeout and sent nothing
        more first; False if data arrives or it stays open. Data that arrives stays buffered."""
        if self.buf:
            return False
        try:
            self._fill(time.monotonic() + timeout)
        except socket.timeout:
            return False
        return self.eof and not self.buf

    def read_all_until_close(self, timeout=5.0):
        """Every byte until the peer closes; raises socket.timeout if it does not."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def read_final(self, method="GET", timeout=None):
        """Reads responses until a final (non-1xx) one and returns it; the 1xx ones are
        in its .interim list."""
        interim = []
        while True:
            r = self.read_response(method, timeout)
            if r.status >= 200 or r.status == 101:
                r.interim = interim
                return r
            interim.append(r)

    def read_response(self, method="GET", timeout=None):
        """Reads exactly one response (1xx included) strictly; raises IncompleteResponse on
        early EOF, MalformedResponse on bad syntax, socket.timeout after timeout seconds
        (default: the client's)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        raw = bytearray()

        def line():
            while True:
                i = self.buf.find(b"\n")
                if i >= 0:
                    ln = bytes(self.buf[: i + 1])
                    del self.buf[: i + 1]
                    raw.extend(ln)
                    if not ln.endswith(b"\r\n"):
                        raise MalformedResponse("bare LF line ending", raw)
                    return ln[:-2]
                if len(self.buf) > 65536:
                    raise MalformedResponse("line longer than 64 KiB", raw + self.buf)
                if not self._fill(deadline):
                    raise IncompleteResponse("connection closed in the response head", raw + self.buf)

        def exact(n):
            while len(self.buf) < n:
                if not self._fill(deadline):
                    raise IncompleteResponse(
                        "connection closed %d bytes before the end of the body" % (n - len(self.buf)),
                        raw + self.buf,
                    )
            data = bytes(self.buf[:n])
            del self.buf[:n]
            raw.extend(data)
            return data

        r = Response()
        if not self.buf and not self._fill(deadline):
            raise IncompleteResponse("connection closed before a response", b"")
        status_line = line()
        m = STATUS_RE.match(status_line)
        if not m:
            raise MalformedResponse("bad status line %r" % status_line, raw)
        r.version = "HTTP/1." + m.group(1).decode()
        r.status = int(m.group(2))
        r.reason = m.group(3).decode("latin-1")
        total = 0
        while True:
            ln = line()
            if not ln:
                break
            total += len(ln)
            if total > 65536:
                raise MalformedResponse("response head over 64 KiB", raw)
            if ln[:1] in (b" ", b"\t"):
                raise MalformedResponse("obs-fold in response head", raw)
            name, sep, value = ln.partition(b":")
            if not sep or not TOKEN_RE.match(name):
                raise MalformedResponse("bad header line %r" % ln, raw)
            r.headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))

        te = r.tokens("transfer-encoding")
        cls = r.header_all("content-length")
        if method == "HEAD" or r.status < 200 or r.status in (204, 304):
            r.framing = "none"
            if r.status in (204,) or r.status < 200:
                if te or cls:
                    raise MalformedResponse("%d with framing fields" % r.status, raw)
        elif te:
            if cls:
                raise MalformedResponse("both Transfer-Encoding and Content-Length", raw)
            if te != ["chunked"]:
                raise MalformedResponse("unexpected Transfer-Encoding %r" % te, raw)
            r.framing = "chunked"
            body = bytearray()
            while True:
                size_line = line()
                size_s = size_line.split(b";", 1)[0]
                if not re.match(rb"^[0-9A-Fa-f]{1,16}$", size_s):
                    raise MalformedResponse("bad chunk size line %r" % size_line, raw)
                n = int(size_s, 16)
                if n == 0:
                    break
                body += exact(n)
                if exact(2) != b"\r\n":
                    raise MalformedResponse("chunk data not followed by CRLF", raw)
            while True:
                ln = line()
                if not ln:
                    break
                name, sep, value = ln.partition(b":")
                if not sep or not TOKEN_RE.match(name):
                    raise MalformedResponse("bad trailer line %r" % ln, raw)
                r.trailers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
            r.body = bytes(body)
        elif cls:
            vals = set(v.strip() for c in cls for v in c.split(","))
            if len(vals) != 1 or not re.match(r"^[0-9]{1,18}$", next(iter(vals))):
                raise MalformedResponse("bad Content-Length %r" % cls, raw)
            r.framing = "length"
            r.body = exact(int(next(iter(vals))))
        else:
            r.framing = "close"
            while self._fill(deadline):
                pass
            r.body = bytes(self.buf)
            raw.extend(self.buf)
            self.buf.clear()
        r.raw = bytes(raw)
        return r


def partial_body(raw):
    """The body bytes that did arrive in a broken response's raw bytes (from an
    IncompleteResponse): decoded if the head announced chunked, else as they are."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return b""
    if not re.search(rb"(?im)^transfer-encoding:[ \t]*chunked[ \t]*$", head):
        return rest
    out = bytearray()
    while True:
        line, sep, after = rest.partition(b"\r\n")
        if not sep:
            return bytes(out)
        try:
            n = int(line.split(b";")[0], 16)
        except ValueError:
            return bytes(out)
        out += after[:n]
        if len(after) < n + 2 or n == 0:
            return bytes(out)
        rest = after[n + 2 :]


def one_request(port, raw, method="GET", timeout=5.0):
    """Connects, sends raw bytes, reads the final response, closes; returns the Response."""
    with Client(port, timeout=timeout) as c:
        c.send(raw)
        return c.read_final(method=method)


def pattern_bytes(n, offset=0):
    """The origin's deterministic body: byte i is 'a' + (offset + i) % 26."""
    a = bytes(range(ord("a"), ord("a") + 26))
    s = offset % 26
    reps = (s + n) // 26 + 1
    return (a * reps)[s : s + n]


def pattern_sha256(n):
    """sha256 hex of pattern_bytes(n), computed in 1 MiB blocks."""
    h = hashlib.sha256()
    block = pattern_bytes(26 * 40960)
    while n > 0:
        k = min(n, len(block))
        h.update(block[:k])
        n -= k
    return h.hexdigest()


# ---- curl ---------------------------------------------------------------------


class CurlResult:
    """rc: curl's exit status; out: its -w output; err: its stderr; code: the HTTP status
    (first -w token, when -w starts with %{http_code}); output: the -o path."""

    def __init__(self, rc, out, err, output):
        self.rc = rc
        self.out = out
        self.err = err
        self.output = output
        first = out.split()[0] if out.split() else ""
        self.code = int(first) if first.isdigit() else None

    def body(self):
        return Path(self.output).read_bytes()

    def __repr__(self):
        return "<curl rc=%d out=%r err=%r>" % (self.rc, self.out, self.err)


def curl(url, *args, output=None, write_out="%{http_code}", timeout=120, http="--http1.1"):
    """Runs `curl -sS --http1.1 -o OUTPUT -w WRITE_OUT ARGS URL` (no proxy) and returns
    a CurlResult. output defaults to /dev/null."""
    cmd = ["curl", "-sS", http, "--noproxy", "*", "-o", str(output or os.devnull), "-w", write_out]
    cmd += [str(a) for a in args] + [url]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return CurlResult(p.returncode, p.stdout.decode(), p.stderr.decode(), output)


# ---- access log ---------------------------------------------------------------

ACCESS_RE = re.compile(
    r'^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<client>\S+) '
    r'"(?P<method>\S+) (?P<target>\S+) (?P<proto>\S+)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r"(?P<duration>\d+\.\d{6}) (?P<cache>\S+) (?P<backend>\S+) (?P<origin_time>-|\d+\.\d{6}) "
    r"(?P<reason>\S+)$"
)


def parse_access_line(line):
    """One access-log line as a dict of its fields (strings; status and bytes as int);
    AssertionError if the line does not follow the format."""
    m = ACCESS_RE.match(line.rstrip("\n"))
    assert m, "access-log line does not match the format: %r" % line
    d = m.groupdict()
    d["status"] = int(d["status"])
    d["bytes"] = int(d["bytes"])
    return d


def access_lines(path, n, timeout=3.0):
    """Waits until the file holds at least n complete lines and returns them all."""

    def ready():
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            return None
        lines = [l for l in text.split("\n")[:-1]]
        return lines if len(lines) >= n else None

    try:
        return wait_for(ready, timeout, "%d line(s) in %s" % (n, path))
    except AssertionError:
        try:
            have = Path(path).read_text()
        except FileNotFoundError:
            have = "<no file>"
        raise AssertionError("expected %d access-log line(s) in %s within %.0fs; have:\n%s"
                % (n, path, timeout, have))


def assert_daemon_error(resp, status, closes=True):
    """A response the daemon generated itself: the status, a short text/plain body naming
    the reason, and Connection: close when it closes."""
    assert resp.status == status, "expected %d, got %r\n%r" % (status, resp, resp.body[:300])
    ctype = (resp.header("content-type") or "").lower()
    assert ctype.startswith("text/plain"), "error response Content-Type %r" % ctype
    assert 0 < len(resp.body) < 1024, "error body should be short and non-empty: %r" % resp.body
    if closes:
        assert "close" in resp.tokens("connection"), "no Connection: close on %r" % resp
