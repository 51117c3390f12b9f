#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine may lack:
# Debian's Chromium for the browser tests (widget, console), Ory Hydra for
# the single sign-on tests, and axe-core for the accessibility tests.
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
# The single sign-on tests sign in at a real OpenID Connect provider, Ory
# Hydra (Apache-2.0), built from the Go module proxy's source once (about
# two minutes on a fresh machine). Its module replaces dependencies, so it
# is built as its own main module, not with `go install`.
HYDRA_VERSION=v2.3.0
HYDRA_BIN="${PARLEY_TEST_HYDRA:-$(go env GOPATH)/bin/parley-test-hydra-$HYDRA_VERSION}"
if [ ! -x "$HYDRA_BIN" ]; then
  echo "Building Ory Hydra $HYDRA_VERSION for the single sign-on tests..."
  if ! command -v gcc >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gcc libc6-dev >/dev/null
  fi
  work="$(mktemp -d)"
  dir_of() { (cd "$work" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); }
  src="$work/hydra"
  cp -r "$(dir_of github.com/ory/hydra/v2@$HYDRA_VERSION)" "$src"
  chmod -R u+w "$src"
  rm -rf "$src/internal/httpclient"
  cp -r "$(dir_of github.com/ory/hydra-client-go/v2@v2.2.1)" "$src/internal/httpclient"
  chmod -R u+w "$src/internal/httpclient"
  mkdir -p "$(dirname "$HYDRA_BIN")"
  (cd "$src" && CGO_ENABLED=1 go build -tags sqlite,sqlite_omit_load_extension -o "$HYDRA_BIN.tmp" . && mv "$HYDRA_BIN.tmp" "$HYDRA_BIN")
  rm -rf "$work"
fi
# The accessibility tests run Deque's axe-core (MPL-2.0) in Chromium on
# every screen; its script comes from the npm registry once, checked
# against the digest it had when it was chosen.
AXE_VERSION=4.14.1
AXE_SHA256=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
AXE_JS="${PARLEY_TEST_AXE:-$(go env GOPATH)/pkg/parley-test/axe-core-$AXE_VERSION.min.js}"
if [ ! -f "$AXE_JS" ]; then
  echo "Fetching axe-core $AXE_VERSION for the accessibility tests..."
  mkdir -p "$(dirname "$AXE_JS")"
  curl -fsSL "https://registry.npmjs.org/axe-core/-/axe-core-$AXE_VERSION.tgz" | tar -xzO package/axe.min.js > "$AXE_JS.tmp"
  echo "$AXE_SHA256  $AXE_JS.tmp" | sha256sum -c --quiet -
  mv "$AXE_JS.tmp" "$AXE_JS"
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
