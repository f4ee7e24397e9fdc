#!/bin/sh
# run-replay-config.sh — `make check` entry: runs the config fuzz harness's
# replay build over its seed corpus. The test harness runs it from the build
# directory and exports srcdir.
exec ./tests/fuzz/replay_config "${srcdir:-.}/tests/fuzz/corpus/config"
