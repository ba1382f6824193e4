#!/usr/bin/env bash
# One-command demo: a local OpenID provider and the quickstart app.
#
#   ./scripts/demo.sh
#
# Starts the real oidc-provider from e2e/op (installing its npm dependencies
# on first use) on a free loopback port, then examples/quickstart on
# http://127.0.0.1:8080 configured for it. Sign in with any login and
# password. Ctrl-C stops both.
#
# Environment (all optional):
#   DEMO_PORT   the app's port (default 8080)
#   OP_PORT     the provider's port (default: a free one)
#   OP_ACCESS_TOKEN_TTL  access token lifetime in seconds (default 120)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# --- prerequisites -----------------------------------------------------------
command -v go >/dev/null || die "go is not installed: get Go 1.26+ from https://go.dev/dl/"
command -v node >/dev/null || die "node is not installed: the local provider needs Node.js 20.18+"
command -v npm >/dev/null || die "npm is not installed: it comes with Node.js"
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 20 || (maj === 20 && min >= 18) ? 0 : 1);
' || die "Node.js $(node --version) is too old: the provider needs 20.18+"

app_port=${DEMO_PORT:-8080}
app_url="http://127.0.0.1:${app_port}"
port_busy() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_busy "$app_port"; then
  die "port ${app_port} is in use; stop what runs there or set DEMO_PORT"
fi
if [[ -n "${OP_PORT:-}" && "${OP_PORT}" != 0 ]] && port_busy "$OP_PORT"; then
  die "port ${OP_PORT} is in use; stop what runs there, or set OP_PORT to a free port (or unset it to pick one)"
fi

# --- provider dependencies -----------------------------------------------------
op_dir="$root/e2e/op"
locked=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/oidc-provider"].version)' "$op_dir/package-lock.json")
installed=$(node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("none") }' "$op_dir/node_modules/oidc-provider/package.json")
if [[ "$installed" != "$locked" ]]; then
  say "installing the provider's dependencies (npm ci in e2e/op)…"
  (cd "$op_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || die "npm ci failed in e2e/op"
fi

# --- cleanup -------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auth-go-demo.XXXXXX")
op_pid=
app_pid=
cleanup() {
  trap - EXIT INT TERM HUP
  local pid
  for pid in "$app_pid" "$op_pid"; do
    if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  done
  exec 3>&- # the provider's stdin: EOF makes it exit too
  wait 2>/dev/null || true
  rm -rf "$tmp"
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

random() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

# --- build the app (while nothing runs yet) --------------------------------------
say "building examples/quickstart…"
go build -o "$tmp/quickstart" ./examples/quickstart

# --- start the provider ----------------------------------------------------------
client_id=demo-app
client_secret=$(random)
clients_json=$(printf '[{"client_id":"%s","client_secret":"%s","redirect_uris":["%s/api/auth/callback"],"post_logout_redirect_uris":["%s"],"token_endpoint_auth_method":"client_secret_basic"}]' \
  "$client_id" "$client_secret" "$app_url" "$app_url")
# Two APIs the provider issues JWT access tokens for. The app serves the
# first itself (EXAMPLE_API_RESOURCE): /orders calls it with the user's token.
api_resource=https://orders.example.test
resources_json='[{"url":"https://orders.example.test","scope":"orders:read"},{"url":"https://billing.example.test","scope":"billing:read"}]'
op_port=${OP_PORT:-0}
op_issuer=
[[ "$op_port" != 0 ]] && op_issuer="http://127.0.0.1:${op_port}"

# The provider exits when its stdin closes (OP_EXIT_ON_STDIN_EOF): give it a
# FIFO that this script holds open on fd 3, so it never outlives the script,
# even one killed with SIGKILL.
mkfifo "$tmp/op.in"
exec 3<>"$tmp/op.in"
(
  cd "$op_dir"
  exec env OP_PORT="$op_port" OP_ISSUER="$op_issuer" OP_CLIENTS_JSON="$clients_json" \
    OP_RESOURCES_JSON="$resources_json" OP_ACCESS_TOKEN_TTL="${OP_ACCESS_TOKEN_TTL:-120}" \
    OP_EXIT_ON_STDIN_EOF=1 NODE_NO_WARNINGS=1 \
    node provider.mjs <"$tmp/op.in" >"$tmp/op.out" 2>"$tmp/op.err" 3>&-
) &
op_pid=$!

# op_failed explains why the provider did not start: one line for a busy
# port (taken between the check above and the provider's listen), its
# error output otherwise.
op_failed() {
  if grep -q EADDRINUSE "$tmp/op.err" 2>/dev/null; then
    die "port ${op_port} is in use; set OP_PORT to a free port (or unset it to pick one)"
  fi
  cat "$tmp/op.err" >&2
  die "$1"
}

issuer=
for _ in $(seq 1 600); do
  issuer=$(sed -n 's/^ready //p' "$tmp/op.out" 2>/dev/null | head -n1) || true
  [[ -n "$issuer" ]] && break
  kill -0 "$op_pid" 2>/dev/null || op_failed "the provider exited before it was ready"
  sleep 0.1
done
[[ -n "$issuer" ]] || op_failed "the provider was not ready after 60s"
say "OpenID provider ready at $issuer"

# --- start the app -------------------------------------------------------------
MONOCLOUD_AUTH_TENANT_DOMAIN="$issuer" \
MONOCLOUD_AUTH_CLIENT_ID="$client_id" \
MONOCLOUD_AUTH_CLIENT_SECRET="$client_secret" \
MONOCLOUD_AUTH_APP_URL="$app_url" \
MONOCLOUD_AUTH_COOKIE_SECRET="$(random)" \
EXAMPLE_RESOURCES="${api_resource}=orders:read,https://billing.example.test=billing:read" \
EXAMPLE_API_RESOURCE="$api_resource" \
ADDR="127.0.0.1:${app_port}" \
  "$tmp/quickstart" 3>&- &
app_pid=$!

for _ in $(seq 1 100); do
  port_busy "$app_port" && break
  kill -0 "$app_pid" 2>/dev/null || die "the app exited (see above)"
  sleep 0.1
done

cat <<EOF

  auth-go demo running:  ${app_url}/

  Sign in with any login and password (login "admin" is in the admin group).
  Pages: /protected (your claims and groups), /admin (the admin group only),
         /tokens (GetTokens, force refresh, per-API tokens), /api/tokens (JSON),
         /orders (the app calls its own API, /api/orders, with your access
         token for ${api_resource}).
  Access tokens live ${OP_ACCESS_TOKEN_TTL:-120}s, so /tokens refreshes them on its own after a while.

  Press Ctrl-C to stop.

EOF

wait "$app_pid"
