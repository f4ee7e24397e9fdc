#!/bin/sh
# run-replay-policy.sh — `make check` driver for the policy fuzz harnesses:
# runs each replay build over its seed corpus. Runs from the build
# directory; the corpus lives in the source directory (automake exports
# srcdir to tests), so out-of-tree builds work.
set -u
top_srcdir=${srcdir:-$(dirname "$0")/../..}
rc=0
for h in cc range; do
	if ! ./tests/fuzz/replay_$h "$top_srcdir/tests/fuzz/corpus/$h"; then
		echo "replay_$h failed" >&2
		rc=1
	fi
done
exit $rc
