# test_disk_0004_unusable — a disk tier that cannot be used never stops the
# daemon: it logs why, loudly, and caches in memory only. Covered: a path
# that cannot be created (under a regular file: tests run as root, so
# permissions would not stop us), a directory holding something that is not
# an LMDB environment, and a directory another daemon holds.

from e2elib import pattern_bytes, target
from test_cache_0000_support import cache_status


def memory_only_works(ec, path):
    t = target(path, size=2000, cc="max-age=60")
    r = ec.get(t)
    assert r.status == 200 and r.body == pattern_bytes(2000)
    r = ec.get(t)
    assert cache_status(r).get("hit"), r


def test_uncreatable_directory(origin, start_edgecache, tmp_path):
    f = tmp_path / "plainfile"
    f.write_text("not a directory\n")
    ec = start_edgecache("-d", "%s/sub:16M" % f)
    err = ec.stderr_text()
    assert ("disk: %s/sub: cannot create the directory: Not a directory; the disk tier is OFF, "
            "running memory-only" % f) in err, err
    memory_only_works(ec, "/u/1")
    assert ec.alive()


def test_not_an_lmdb_environment(origin, start_edgecache, tmp_path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "data.mdb").write_bytes(b"garbage!" * 4096)
    ec = start_edgecache("-d", "%s:16M" % d)
    err = ec.stderr_text()
    assert "cannot open the LMDB environment" in err and "running memory-only" in err, err
    memory_only_works(ec, "/u/2")
    assert (d / "data.mdb").read_bytes() == b"garbage!" * 4096  # left alone


def test_directory_in_use(origin, start_edgecache, tmp_path):
    disk = "%s:16M" % (tmp_path / "disk")
    first = start_edgecache("-d", disk)
    second = start_edgecache("-d", disk)
    err = second.stderr_text()
    assert "in use by another process" in err and "running memory-only" in err, err
    memory_only_works(second, "/u/3")
    assert first.alive()
