# Parley's build and test entry points. `make test` is the one command that
# runs the whole suite on a fresh machine; .ci/run calls it.

GO ?= go
PKG := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/parleychat/parley.Version=$(VERSION)

.PHONY: build test bench fuzz vet fmt-check

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o parley ./cmd/parley

# The whole suite, with the race detector. Tools the tests need are
# installed here when missing (scripts/test-deps.sh).
test:
	bash scripts/test-deps.sh
	$(GO) vet $(PKG)
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) test -race -count=1 -timeout 40m $(PKG)
	# The server's suite again on the cluster shape's store (PostgreSQL;
	# the browser tests run once, above). Not beside the first run: the
	# browser tests' timers (auto-away after 3 s) flaked under the load.
	PARLEY_TEST_STORE=postgres $(GO) test -race -count=1 -timeout 40m ./internal/server/

# Each fuzz target explores for FUZZTIME (its seeds run with every `make
# test`); a failing input is kept under testdata/fuzz/ and then runs with
# the suite.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzValidateRules$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/bot/
	$(GO) test -run '^$$' -fuzz '^FuzzRenderMarkdown$$' -fuzztime $(FUZZTIME) ./internal/bot/
	$(GO) test -run '^$$' -fuzz '^FuzzBodyText$$' -fuzztime $(FUZZTIME) ./internal/email/
	$(GO) test -run '^$$' -fuzz '^FuzzSenderCheck$$' -fuzztime $(FUZZTIME) ./internal/email/
	$(GO) test -run '^$$' -fuzz '^FuzzTokens$$' -fuzztime $(FUZZTIME) ./internal/bot/nlu/encoder/
	$(GO) test -run '^$$' -fuzz '^FuzzNormalise$$' -fuzztime $(FUZZTIME) ./internal/avatar/
	$(GO) test -run '^$$' -fuzz '^FuzzMaskCards$$' -fuzztime $(FUZZTIME) ./internal/masking/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFrame$$' -fuzztime $(FUZZTIME) ./internal/realtime/

# The standard benchmarks, then every `parley bench` scenario against the
# echo ceiling (the plot goes where docs/performance.md shows it), and
# steady and max again with the console's read receipts; numbers go to
# docs/performance.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./internal/sqlstore/ ./internal/server/ ./internal/routing/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/bot/nlu/ ./internal/export/
	$(GO) run ./cmd/parley bench --scenario all --plot docs/bench-max.svg
	$(GO) run ./cmd/parley bench --scenario steady,max --receipts --baseline ""
