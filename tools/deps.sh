#!/bin/sh
# deps.sh — installs the Debian packages edgecache needs to build, run and
# test (Debian 12). Installs only what is missing; uses sudo when not root.
set -eu
PKGS="build-essential autoconf automake pkg-config
      libevent-dev libnghttp2-dev libssl-dev liblmdb-dev libzstd-dev
      libxxhash-dev libyaml-dev libpcre2-dev libjansson-dev check
      python3 python3-pytest curl nghttp2-client nghttp2-server openssl procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
