#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine may lack:
# Debian's Chromium for the browser tests (widget, console).
set -euo pipefail
if ! command -v go >/dev/null 2>&1; then
  echo "Go is required: https://go.dev/dl/ (go 1.26 or newer)" >&2
  exit 1
fi
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "Installing Chromium for the browser tests (apt-get install chromium)..."
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# The cluster shape's tests need a PostgreSQL server (PARLEY_TEST_POSTGRES,
# default postgres://postgres@127.0.0.1:5432/test) and a NATS server
# (PARLEY_TEST_NATS, default nats://127.0.0.1:4222). They are skipped, with
# this warning, where there are none.
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
if [ -z "${PARLEY_TEST_POSTGRES:-}" ] && ! reachable 127.0.0.1 5432; then
  echo "warning: no PostgreSQL on 127.0.0.1:5432: the PostgreSQL store's tests will be skipped (see README, \"Tests\")" >&2
fi
if [ -z "${PARLEY_TEST_NATS:-}" ] && ! reachable 127.0.0.1 4222; then
  echo "warning: no NATS on 127.0.0.1:4222: the cluster tests will be skipped (see README, \"Tests\")" >&2
fi
