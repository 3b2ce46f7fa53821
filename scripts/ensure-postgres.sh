#!/usr/bin/env bash
# Installs the PostgreSQL server binaries through apt when they are missing; the test suite
# starts its own throwaway cluster from them (tests/support/pgserver.py).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "PostgreSQL server binaries not found: installing them through apt"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql postgresql-contrib
