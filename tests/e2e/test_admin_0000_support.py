# test_admin_0000_support — helpers shared by the test_admin_* scenarios (they
# import them from here), and checks of the helpers themselves: the Prometheus
# text-format checker must reject what the format's rules reject, or the
# metrics scenario proves nothing.
#
# Conventions of the admin scenarios:
#   - the daemon runs with its admin listener on 127.0.0.1:0 and a token from a
#     file (start_admin); its port comes from the "listening on ... (admin)" line;
#   - every purge, ban, listing and inspection goes through tools/cachectl
#     (run_cachectl), the way an operator would do it;
#   - requests go through the daemon with Host example.test, so the cache key of
#     PATH is http://example.test/PATH (key_url).

import json
import math
import os
import re
import subprocess
from pathlib import Path

import pytest

from e2elib import daemon_binary, target

TOKEN = "s3cret-token-for-tests"


def cachectl_binary():
    p = os.environ.get("CACHECTL")
    if p:
        return Path(p)
    return daemon_binary().parent.parent / "tools" / "cachectl"


def start_admin(start_edgecache, tmp_path, *extra, token=True, disk=None, purge_allow=None,
                workers=2):
    """The daemon with an admin listener (and a token file unless token=False).
    Returns (ec, admin_url, token_file)."""
    args = ["--admin", "127.0.0.1:0"]
    tok = None
    if token:
        tok = tmp_path / "admin.token"
        tok.write_text(TOKEN + "\n")
        args += ["--admin-token-file", str(tok)]
    if disk is not None:
        args += ["-d", str(disk) + ":64M"]
    if purge_allow is not None:
        args += ["-p", "purge_allow=" + purge_allow]
    ec = start_edgecache(*args, *extra, admin_off=False, listeners=2, workers=workers)
    admin = [l for l in ec.listeners if l[2] == "admin"]
    assert admin, "no admin listening line: %s" % ec.listeners
    return ec, "http://%s:%d" % (admin[0][0], admin[0][1]), tok


def run_cachectl(admin, tok, *args, json_out=False, check=True, env=None):
    """Runs cachectl; returns CompletedProcess (stdout/stderr as text)."""
    cmd = [str(cachectl_binary())]
    if admin is not None:
        cmd += ["--admin", admin]
    if tok is not None:
        cmd += ["--token-file", str(tok)]
    if json_out:
        cmd += ["--json"]
    cmd += [str(a) for a in args]
    full_env = dict(os.environ)
    full_env.pop("EDGECACHE_ADMIN_TOKEN", None)
    full_env.pop("EDGECACHE_ADMIN", None)
    if env:
        full_env.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=full_env)
    if check:
        assert p.returncode == 0, "cachectl %s: exit %d\nstdout:\n%s\nstderr:\n%s" % (
            args, p.returncode, p.stdout, p.stderr)
    return p


def cachectl_json(admin, tok, *args):
    p = run_cachectl(admin, tok, *args, json_out=True)
    return json.loads(p.stdout)


def key_url(path, **params):
    """The absolute URL (and cache key) of a request sent through the daemon."""
    return "http://example.test" + target(path, **params)


# --- Prometheus text exposition format 0.0.4 -----------------------------------

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _parse_labels(s, lineno):
    """'{a="x",b="y\\"z"}' -> dict; raises ValueError on a malformed set."""
    assert s[0] == "{"
    out, i = {}, 1
    while True:
        if s[i] == "}":
            return out, i + 1
        m = re.match(r"[a-zA-Z_][a-zA-Z0-9_]*", s[i:])
        if not m:
            raise ValueError("line %d: bad label name at %r" % (lineno, s[i:]))
        name = m.group(0)
        i += len(name)
        if s[i:i + 2] != '="':
            raise ValueError("line %d: expected =\" after label %s" % (lineno, name))
        i += 2
        val = []
        while s[i] != '"':
            if s[i] == "\\":
                if s[i + 1] not in 'n"\\':
                    raise ValueError("line %d: bad escape in label value" % lineno)
                val.append({"n": "\n"}.get(s[i + 1], s[i + 1]))
                i += 2
            elif s[i] == "\n":
                raise ValueError("line %d: newline in label value" % lineno)
            else:
                val.append(s[i])
                i += 1
        i += 1
        if name in out:
            raise ValueError("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise ValueError("line %d: expected , or } in labels" % lineno)


def parse_prometheus(text):
    """Parses text format 0.0.4 by its rules and returns {family: {"type", "help",
    "samples": [(name, labels, value)]}}. Raises ValueError naming the first
    violation: a malformed line, a metric name outside [a-zA-Z_:][a-zA-Z0-9_:]*, a
    TYPE after the family's samples or given twice, a sample of another family
    interleaved, a duplicate series, a value that is not a float, a counter
    that is negative or whose name does not end in _total."""
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    fams, order, current, seen = {}, [], None, set()
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_NAME.match(parts[2]):
                    raise ValueError("line %d: bad metric name in %s" % (lineno, parts[1]))
                fam = fams.setdefault(parts[2], {"type": None, "help": None, "samples": []})
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError("line %d: bad TYPE" % lineno)
                    if fam["type"] is not None or fam["samples"]:
                        raise ValueError("line %d: TYPE for %s twice or after samples" %
                                         (lineno, parts[2]))
                    fam["type"] = parts[3]
                else:
                    if fam["help"] is not None:
                        raise ValueError("line %d: HELP for %s twice" % (lineno, parts[2]))
                    fam["help"] = parts[3] if len(parts) == 4 else ""
                if parts[2] not in order:
                    order.append(parts[2])
                current = parts[2]
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if not m:
            raise ValueError("line %d: bad sample line %r" % (lineno, line))
        name = m.group(1)
        rest = line[len(name):]
        labels = {}
        if rest.startswith("{"):
            labels, n = _parse_labels(rest, lineno)
            rest = rest[n:]
        fields = rest.split()
        if not rest.startswith(" ") or len(fields) not in (1, 2):
            raise ValueError("line %d: expected ' VALUE [TIMESTAMP]'" % lineno)
        try:
            value = float(fields[0])
        except ValueError:
            raise ValueError("line %d: value %r is not a float" % (lineno, fields[0]))
        fam_name = name
        for sfx in ("_bucket", "_sum", "_count"):
            if name not in fams and name.endswith(sfx) and name[: -len(sfx)] in fams:
                fam_name = name[: -len(sfx)]
        if fam_name not in fams:
            fams[fam_name] = {"type": None, "help": None, "samples": []}
            order.append(fam_name)
        elif current != fam_name:
            raise ValueError("line %d: sample of %s not grouped with its family" %
                             (lineno, fam_name))
        current = fam_name
        series = (name, tuple(sorted(labels.items())))
        if series in seen:
            raise ValueError("line %d: duplicate series %s%s" % (lineno, name, labels))
        seen.add(series)
        fam = fams[fam_name]
        if fam["type"] == "counter":
            if not name.endswith("_total"):
                raise ValueError("line %d: counter %s without _total" % (lineno, name))
            if value < 0 or math.isnan(value):
                raise ValueError("line %d: counter %s negative" % (lineno, name))
        fam["samples"].append((name, labels, value))
    return fams


def sample(fams, family, **labels):
    for name, l, v in fams[family]["samples"]:
        if l == labels:
            return v
    raise KeyError("%s%s not exposed" % (family, labels))


GOOD = """# HELP edgecache_x_total Things.
# TYPE edgecache_x_total counter
edgecache_x_total{a="1"} 3
edgecache_x_total{a="2",b="q\\"uote"} 4
# TYPE edgecache_g gauge
edgecache_g 0.5
"""


@pytest.mark.parametrize("bad,why", [
    (GOOD.replace("edgecache_g 0.5", "edgecache_g zero"), "not a float"),
    (GOOD.replace("# TYPE edgecache_g gauge\n", "") + "# TYPE edgecache_g gauge\n",
     "after samples"),
    (GOOD.replace('{a="1"}', '{a="1",a="2"}'), "twice"),
    (GOOD.replace('{a="1"}', '{1a="1"}'), "bad label name"),
    (GOOD.replace("edgecache_g 0.5", "edgecache-g 0.5"), "expected"),
    (GOOD + 'edgecache_x_total{a="1"} 5\n', "not grouped"),
    (GOOD.replace('edgecache_x_total{a="1"} 3', 'edgecache_x_total{a="2",b="q\\"uote"} 3'),
     "duplicate"),
    (GOOD.replace("x_total", "x"), "without _total"),
    (GOOD.rstrip("\n"), "newline"),
])
def test_prometheus_checker_rejects_what_the_format_rejects(bad, why):
    fams = parse_prometheus(GOOD)
    assert sample(fams, "edgecache_x_total", a="2", b='q"uote') == 4
    with pytest.raises(ValueError, match=why):
        parse_prometheus(bad)
