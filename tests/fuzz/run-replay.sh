#!/bin/sh
# run-replay.sh — the make check entry for the HTTP/1 parser harnesses: runs
# each replay build over its seed corpus. make runs tests from the top build
# directory and exports $srcdir, so this works out of tree: the programs are
# here, the corpora under $srcdir/tests/fuzz/corpus/NAME.
set -eu
srcdir=${srcdir:-.}
for name in h1_request h1_response; do
    ./tests/fuzz/replay_$name "$srcdir/tests/fuzz/corpus/$name"
done
