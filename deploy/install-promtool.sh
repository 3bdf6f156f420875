#!/bin/sh
# Installs, with apt, Debian's `prometheus` package for its promtool, which the tests of
# the alert rules (deploy/prometheus/) run: `promtool check rules` and `promtool test rules`.
# `make client-deps` runs it.
#
# As root it installs the package; otherwise it prints the command to run and exits 0
# (the tests that need promtool then skip, saying so).
set -eu

PACKAGES="prometheus"

if command -v promtool >/dev/null 2>&1; then
  echo "promtool is installed: $(command -v promtool)"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Not root (or no apt-get): not installing. The alert rule tests need promtool:"
  echo "  apt-get install --no-install-recommends $PACKAGES"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $PACKAGES; then
  # a fresh image has no package lists yet
  apt-get update -q -o DPkg::Lock::Timeout=600
  apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $PACKAGES
fi
echo "installed: $PACKAGES"
