#!/bin/sh
# build.sh — the shared part of quickstart.sh and test.sh: install what is
# missing, generate the build system when needed, configure once, build.
# Extra arguments go to ./configure (e.g. --enable-asan).
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh
[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh
if [ "$#" -gt 0 ]; then
    # New options: reconfigure and rebuild everything with them.
    ./configure "$@"
    make clean >/dev/null
elif [ ! -f Makefile ] || [ configure -nt config.status ]; then
    ./configure
fi
make -j"$(nproc)"
