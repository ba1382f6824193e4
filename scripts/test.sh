#!/usr/bin/env bash
# Runs every test of auth-go: formatting and vet, the unit tests, the
# end-to-end suite against the real oidc-provider, the headless Chromium
# test and the Redis store against a real redis-server, with the
# multi-instance harness behind haproxy, all under the race detector, plus
# short fuzzing of the parsers. It installs what it needs (Debian's
# chromium, redis-server and haproxy, the npm packages) itself.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need_apt+=(redis-sentinel)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
	echo "installing: ${need_apt[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
for dir in e2e/op e2e/browser; do
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
done

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
(cd e2e && go vet ./...)
(cd examples/chi && go vet ./...)
(cd examples/gin && go vet ./...)
(cd examples/echo && go vet ./...)
(cd redisstore && go vet ./...)
(cd otelmonocloud && go vet ./...)
(cd internal/usertest && go vet ./...)
(cd backend/internal/benchcmp && go vet ./...)

echo "== fuzz (short)"
# Budgets are counts of executions, not durations: on Go 1.26 a duration
# budget can end with a spurious "context deadline exceeded" when a busy
# worker misses the deadline (go.dev/issue/75804, fixed in Go 1.27).
go test -run='^$' -fuzz='^FuzzDecode$' -fuzztime=50000x ./internal/cookie/
go test -run='^$' -fuzz='^FuzzJoin$' -fuzztime=60000x ./internal/cookie/
go test -run='^$' -fuzz='^FuzzFind$' -fuzztime=75000x ./internal/cookie/
go test -run='^$' -fuzz='^FuzzDeserialize$' -fuzztime=80000x ./internal/cookie/
go test -run='^$' -fuzz='^FuzzReader$' -fuzztime=250000x ./internal/wire/
go test -run='^$' -fuzz='^FuzzRawMap$' -fuzztime=250000x ./internal/wire/
go test -run='^$' -fuzz='^FuzzSessionCookie$' -fuzztime=60000x .
go test -run='^$' -fuzz='^FuzzReturnURLSignIn$' -fuzztime=20000x .
go test -run='^$' -fuzz='^FuzzResolve$' -fuzztime=50000x ./internal/returnurl/
go test -run='^$' -fuzz='^FuzzVerifyLogoutToken$' -fuzztime=40000x .
go test -run='^$' -fuzz='^FuzzMap$' -fuzztime=100000x ./internal/expiring/
go test -run='^$' -fuzz='^FuzzParseAuthorization$' -fuzztime=75000x ./backend/
go test -run='^$' -fuzz='^FuzzParseDPoPProof$' -fuzztime=20000x ./backend/
go test -run='^$' -fuzz='^FuzzCompactJWS$' -fuzztime=50000x ./backend/
go test -run='^$' -fuzz='^FuzzDecodeBase64URL$' -fuzztime=100000x ./backend/
go test -run='^$' -fuzz='^FuzzDecode$' -fuzztime=50000x ./backend/internal/claimsjson/
go test -run='^$' -fuzz='^FuzzForwardedHeaders$' -fuzztime=50000x ./backend/

echo "== go test -race"
go test -race -count=1 ./...
(cd e2e && go test -race -count=1 ./...)
(cd redisstore && go test -race -count=1 ./...)
(cd otelmonocloud && go test -race -count=1 ./...)
(cd internal/usertest && go test -race -count=1 ./...)
(cd examples/gin && go test -race -count=1 ./...)
(cd examples/echo && go test -race -count=1 ./...)
(cd examples/chi && go test -race -count=1 ./...)
