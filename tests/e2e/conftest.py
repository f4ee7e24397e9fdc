# conftest.py — pytest fixtures for edgecache's end-to-end scenarios.
#
#   origin            a fresh tools/ec-testorigin on 127.0.0.1 (e2elib.Origin)
#   start_edgecache   factory: start_edgecache(*extra_args, config_text=None, ...)
#                     starts src/edgecache on 127.0.0.1:0 in front of `origin`
#                     and returns an e2elib.Edgecache; every daemon it started is
#                     stopped at teardown (SIGTERM, 12 s, SIGKILL) and the test
#                     errors if one died by a signal, needed SIGKILL, exited
#                     non-zero or left a sanitizer report on its stderr
#   edgecache         start_edgecache() with the defaults
#
# On failure the stderr of every process the test started is attached to the
# report. Each test runs under a 180 s alarm so that a hang fails instead of
# stalling make check.

import signal

import pytest

from e2elib import FIGURES, Edgecache, Origin

TEST_ALARM_S = 180


class TestTimeout(AssertionError):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    def on_alarm(signum, frame):
        raise TestTimeout("test still running after %d s" % TEST_ALARM_S)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_ALARM_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for p in item.__dict__.get("_ec_procs", []):
            rep.sections.append(
                ("%s stderr (%s)" % (p.name, p.stderr_path), p.stderr_text() or "<empty>")
            )


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_sep("-", "figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def _register(request, proc):
    request.node.__dict__.setdefault("_ec_procs", []).append(proc)


@pytest.fixture
def origin(request, tmp_path):
    """A fresh ec-testorigin: .port, .addr, .url(path, **params), .stats(), .log(), .reset()."""
    o = Origin(tmp_path / "origin")
    _register(request, o)
    yield o
    o.stop()


@pytest.fixture
def start_edgecache(request, tmp_path):
    """Factory starting the real daemon. Arguments:

    *extra_args     appended to the command line (e.g. "-p", "limits.body=10")
    config_text     written to a file passed with -c (Edgecache.reload() rewrites it)
    origin_url      the -o URL; default the `origin` fixture; False for no -o
    workers         -w N (default 1; None for no -w)
    listen          -l address(es) (default 127.0.0.1:0; None for no -l)
    access_log      --access-log value (a path or "-")
    admin_off       pass --admin off (default True)
    env             extra environment variables
    listeners       how many 'listening on' lines to wait for (default: one per -l)
    """
    started = []

    def start(
        *extra_args,
        config_text=None,
        origin_url=None,
        workers=1,
        listen="127.0.0.1:0",
        access_log=None,
        admin_off=True,
        env=None,
        listeners=None,
    ):
        n = len(started)
        workdir = tmp_path / ("edgecache-%d" % n)
        workdir.mkdir(parents=True, exist_ok=True)
        args = []
        config_path = None
        if config_text is not None:
            config_path = workdir / "edgecache.yaml"
            config_path.write_text(config_text)
            args += ["-c", str(config_path)]
        listens = [] if listen is None else ([listen] if isinstance(listen, str) else list(listen))
        for l in listens:
            args += ["-l", l]
        if origin_url is None:
            origin_url = request.getfixturevalue("origin").base_url
        if origin_url:
            args += ["-o", origin_url]
        if workers is not None:
            args += ["-w", str(workers)]
        if admin_off:
            args += ["--admin", "off"]
        if access_log is not None:
            args += ["--access-log", str(access_log)]
        args += [str(a) for a in extra_args]
        ec = Edgecache.__new__(Edgecache)
        try:
            Edgecache.__init__(ec, args, workdir, expect_listeners=listeners or max(len(listens), 1), env=env)
        finally:
            if getattr(ec, "proc", None) is not None:
                started.append(ec)
                _register(request, ec)
        ec.config_path = config_path
        ec.access_log = access_log
        return ec

    yield start
    problems = []
    for ec in started:
        problems += ec.problems()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def edgecache(start_edgecache):
    """The daemon with default arguments in front of the `origin` fixture."""
    return start_edgecache()
