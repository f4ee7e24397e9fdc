# test_proxy_0010_streaming — 1 GiB through the daemon each way with bounded memory:
# bodies stream, they are never held whole. The daemon's peak RSS (VmHWM) is
# printed in the run's "figures" summary and must stay under 150 MiB (under
# AddressSanitizer, whose allocator keeps a quarantine, under 400 MiB with the
# quarantine cut to 16 MiB).

import os
import socket
import time

from e2elib import binary_has_asan, curl, daemon_binary, pattern_bytes, pattern_sha256, record_figure

GIB = 1 << 30
HWM_LIMIT_KB = 150 * 1024
HWM_LIMIT_ASAN_KB = 400 * 1024


def start_for_streaming(start_edgecache):
    env = None
    limit = HWM_LIMIT_KB
    if binary_has_asan(daemon_binary()):
        env = {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16").lstrip(":")}
        limit = HWM_LIMIT_ASAN_KB
    return start_edgecache(workers=1, env=env), limit


def test_download_1gib(origin, start_edgecache):
    ec, limit = start_for_streaming(start_edgecache)
    t0 = time.monotonic()
    res = curl(ec.url("/big", size=GIB), write_out="%{http_code} %{size_download}", timeout=150)
    took = time.monotonic() - t0
    assert res.rc == 0, res
    assert res.out == "200 %d" % GIB, res
    hwm = ec.vm_hwm_kb()
    record_figure("download 1 GiB through edgecache: %.1f s (%.0f MB/s), daemon VmHWM %.1f MiB"
                  % (took, GIB / took / 1e6, hwm / 1024))
    assert hwm < limit, "VmHWM %d KiB after streaming 1 GiB down (limit %d KiB)" % (hwm, limit)


def test_upload_1gib(origin, start_edgecache):
    ec, limit = start_for_streaming(start_edgecache)
    block = pattern_bytes(26 * 40960)
    t0 = time.monotonic()
    with ec.client(timeout=60) as c:
        c.request("PUT", "/up?echo=1", headers=[("Content-Length", str(GIB))])
        left = GIB
        try:
            while left:
                k = min(left, len(block))
                c.send(block if k == len(block) else block[:k])
                left -= k
        except (BrokenPipeError, ConnectionResetError) as e:
            raise AssertionError("daemon stopped reading the upload with %d bytes left (%r): %r"
                                 % (left, e, c.recv_some(1)))
        r = c.read_final(timeout=60)
    took = time.monotonic() - t0
    assert r.status == 200, r
    j = r.json()
    assert j["body_len"] == GIB
    assert j["body_sha256"] == pattern_sha256(GIB)
    hwm = ec.vm_hwm_kb()
    record_figure("upload 1 GiB through edgecache: %.1f s (%.0f MB/s), daemon VmHWM %.1f MiB"
                  % (took, GIB / took / 1e6, hwm / 1024))
    assert hwm < limit, "VmHWM %d KiB after streaming 1 GiB up (limit %d KiB)" % (hwm, limit)


def test_slow_reader_does_not_buffer_everything(origin, start_edgecache):
    # A client that stops reading must not make the daemon buffer the whole
    # origin body: after a pause, its RSS grew by far less than the 256 MiB sent.
    ec, limit = start_for_streaming(start_edgecache)
    size = 256 << 20
    base = ec.vm_hwm_kb()
    with ec.client(timeout=30) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.request("GET", "/big?size=%d" % size)
        c.recv_some(0.2)
        time.sleep(1.5)
        grown = ec.vm_hwm_kb() - base
        record_figure("slow reader, 256 MiB body, reader paused: daemon VmHWM grew %.1f MiB" % (grown / 1024))
        assert grown < 64 * 1024, "daemon buffered %d KiB for a paused reader" % grown
        got = 0
        while True:
            data = c.recv_some(5)
            if not data:
                break
            got += len(data)
            if got >= size:
                break
    assert got > size // 2
