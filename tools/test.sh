#!/bin/sh
# test.sh — builds edgecache and runs the whole test suite (unit, fuzz
# replay, end to end). Arguments go to ./configure: tools/test.sh --enable-asan
# When a test fails, the failing scenarios and the end of each failing log are
# printed last, so that a CI console's tail names them.
set -eu
cd "$(dirname "$0")/.."
tools/build.sh "$@"
if make -j"$(nproc)" check; then
    exit 0
fi
echo "=== failing tests ==="
for trs in $(find tests -name '*.trs'); do
    grep -q '^:test-result: FAIL' "$trs" || grep -q '^:test-result: ERROR' "$trs" || continue
    log=${trs%.trs}.log
    echo "--- $log (last 60 lines)"
    tail -n 60 "$log"
done
if [ -f tests/e2e/run-e2e.log ]; then
    echo "--- failing end-to-end scenarios"
    grep -E '^(FAILED|ERROR) ' tests/e2e/run-e2e.log || true
fi
exit 1
