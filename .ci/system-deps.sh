#!/usr/bin/env bash
# Install the Debian packages ringwatch's test suite runs for real. Idempotent: checks first,
# runs `apt-get update` once, installs only what is missing. Needs root (CI and dev machines are).
set -euo pipefail
need=()
have_bin() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in prometheus prometheus-alertmanager chromium sox espeak-ng \
           asterisk-core-sounds-en-wav asterisk-core-sounds-en asterisk-moh-opsound-wav portaudio19-dev \
           postgresql pulseaudio \
           build-essential pkg-config libjansson-dev libxml2-dev libsqlite3-dev uuid-dev \
           libedit-dev libssl-dev bzip2 curl sip-tester poppler-utils; do
  have_pkg "$pkg" || need+=("$pkg")
done
# (the second line: Asterisk's build deps for the lab, .ci/build-asterisk.sh, and SIPp)
# the AMI parser's C step (the suite checks that it is built); the Python headers come with
# the interpreter (pyenv, python.org) or Debian's python3-dev
have_bin gcc || need+=(gcc)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ringwatch: missing Debian packages: ${need[*]}" >&2
  echo "ringwatch: run as root, or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "ringwatch: installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
have_bin promtool || { echo "ringwatch: promtool missing after install" >&2; exit 1; }
have_bin sipp || { echo "ringwatch: sipp missing after install (Debian sip-tester)" >&2; exit 1; }
