#!/bin/sh
# Installs, with apt, Debian's Chromium: the web snippet test (tests/integration/
# test_web_snippet_browser.py) loads the rendered loader in it, headless.
# `make client-deps` runs it.
#
# As root it installs the package (about 1 min); otherwise it prints the command to run
# and exits 0. Without Chromium that test is skipped with the reason.
set -eu

PACKAGES="chromium"

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Not root (or no apt-get): not installing. The browser test of the web snippet needs:"
  echo "  apt-get install --no-install-recommends $PACKAGES"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Waits for another apt run (such as install-toolchains.sh) instead of failing at once.
LOCK_WAIT="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get $LOCK_WAIT install -y -q --no-install-recommends $PACKAGES; then
  # a fresh image has no package lists yet
  apt-get $LOCK_WAIT update -q
  apt-get $LOCK_WAIT install -y -q --no-install-recommends $PACKAGES
fi
echo "installed: $PACKAGES"
