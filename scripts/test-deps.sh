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
