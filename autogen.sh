#!/bin/sh
# Regenerate the build system. Then: ./configure && make
exec autoreconf -fi
