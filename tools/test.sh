#!/bin/sh
# test.sh — builds edgecache and runs the whole test suite (unit, fuzz
# replay, end to end). Arguments go to ./configure: tools/test.sh --enable-asan
set -eu
cd "$(dirname "$0")/.."
tools/build.sh "$@"
make -j"$(nproc)" check
