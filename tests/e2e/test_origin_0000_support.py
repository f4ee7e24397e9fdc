# test_origin_0000_support — helpers shared by the test_origin_* scenarios (the
# origin connector: balancing, health, retries, backups) and checks of them.
#
# PortOrigin is an ec-testorigin on a port chosen by the caller, so that a
# backend can be killed (SIGKILL, like a crashed server) and started again at
# the same address. The `origins` fixture starts N of them and stops them all
# at teardown. get_many() sends requests on fresh connections and returns the
# statuses; count_by_origin() reads each origin's request counter.

import http.client
import signal
import socket
import subprocess
import sys

import pytest

from e2elib import Origin, die_with_parent, origin_script, tail_text, wait_for


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PortOrigin(Origin):
    """ec-testorigin on 127.0.0.1:port (0 = any); .kill() and .restart() keep the port."""

    def __init__(self, workdir, port=0, host="127.0.0.1"):
        self.bind_host = host
        self._start(workdir, port)

    def _start(self, workdir, port):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / "origin.stdout"
        self.stderr_path = self.workdir / "origin.stderr"
        port_file = self.workdir / "origin.port"
        if port_file.exists():
            port_file.unlink()
        cmd = [sys.executable, str(origin_script()), "--host", getattr(self, "bind_host", "127.0.0.1"),
               "--port", str(port), "--port-file", str(port_file)]
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, preexec_fn=die_with_parent
            )

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("ec-testorigin exited: %s" % tail_text(self.stderr_path))
            return port_file.exists()

        wait_for(ready, 10, "ec-testorigin's port file")
        self.host = getattr(self, "bind_host", "127.0.0.1")
        self.port = int(port_file.read_text().strip())

    def get_status(self, tgt):
        """GET tgt from this origin directly; the status."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            c.request("GET", tgt)
            r = c.getresponse()
            r.read()
            return r.status
        finally:
            c.close()

    def kill(self):
        """SIGKILL: the port refuses connections at once."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self):
        self.kill()
        self._start(self.workdir, self.port)


@pytest.fixture
def origins(request, tmp_path):
    """Factory: origins(n) -> [PortOrigin]; all stopped at teardown."""
    made = []

    def make(n, host="127.0.0.1", port=0):
        out = []
        for i in range(n):
            o = PortOrigin(tmp_path / ("origin-%d" % len(made)), port, host)
            made.append(o)
            request.node.__dict__.setdefault("_ec_procs", []).append(o)
            out.append(o)
        return out

    yield make
    for o in made:
        o.stop()


def get_many(ec, path, n, headers=None, method="GET"):
    """n requests to `path` (a fresh connection each); returns the statuses."""
    out = []
    for i in range(n):
        sep = "&" if "?" in path else "?"
        r = ec.get("%s%si=%d" % (path, sep, i), headers=headers, method=method)
        out.append(r.status)
    return out


def count_by_origin(origins_list, path_prefix="/"):
    """Requests each origin saw on paths starting with path_prefix."""
    return [
        sum(v for k, v in o.stats()["paths"].items() if k.startswith(path_prefix)) for o in origins_list
    ]


def backends_config(urls, extra="", weights=None, backups=()):
    """A config with one group `g` over urls (weights and backup indexes optional)."""
    lines = ["groups:", "  - name: g", "    backends:"]
    for i, u in enumerate(urls):
        w = weights[i] if weights else 1
        lines.append("      - {url: %s, weight: %d, backup: %s}" % (u, w, "true" if i in backups else "false"))
    for l in extra.strip().splitlines():
        lines.append("    " + l.strip())
    return "\n".join(lines) + "\n"


# ---- checks of the helpers ------------------------------------------------------


def test_port_origin_restarts_on_its_port(origins):
    (o,) = origins(1)
    port = o.port
    assert o.stats()["requests"] == 0
    o.kill()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    o.restart()
    assert o.port == port
    assert o.stats()["requests"] == 0


def test_backends_config_shape():
    t = backends_config(["http://127.0.0.1:1", "127.0.0.1:2"], "algorithm: p2c", weights=[1, 3], backups=(1,))
    assert "      - {url: 127.0.0.1:2, weight: 3, backup: true}" in t
    assert "    algorithm: p2c" in t
