#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine may lack.
# Today that is only Go itself (checked, not installed). Browser tests
# (widget, console) will add Debian's chromium here.
set -euo pipefail
if ! command -v go >/dev/null 2>&1; then
  echo "Go is required: https://go.dev/dl/ (go 1.26 or newer)" >&2
  exit 1
fi
