#!/usr/bin/env bash
# Load test of AuthMiddleware over loopback: wrk against a hello-world
# server (TestLoadServer in loadtest_test.go), bare and behind
# AuthMiddleware, with one repeated session cookie and with 10k rotating
# ones (more than the cache of decoded cookies holds). It runs ROUNDS
# rounds (default 3) of every case, then prints each case's median
# requests/s and server CPU time per request, and the ratio of throughput
# to bare. It installs wrk (Debian) if missing.
#
# With PIN=1, the default when two CPUs are available and taskset
# (util-linux) is installed, the server runs with GOMAXPROCS=1 on the first
# CPU and wrk on the second, so that the load generator does not take the
# server's CPU and the throughput ratio reflects the server's cost alone.
# PIN=0 lets both share every CPU.
#
#	scripts/loadtest.sh                 # 3 rounds of 10 s per case, 32 connections
#	DURATION=30s CONNECTIONS=64 ROUNDS=5 scripts/loadtest.sh
#	PIN=0 scripts/loadtest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
rounds=${ROUNDS:-3}

# cpus prints the CPUs this script may run on, one a line.
cpus() {
	local list item
	list=$(taskset -pc $$ | sed 's/.*: //')
	for item in ${list//,/ }; do
		seq "${item%-*}" "${item#*-}"
	done
}

pin=${PIN:-}
if [ -z "$pin" ]; then
	pin=0
	if command -v taskset >/dev/null 2>&1 && [ "$(cpus | wc -l)" -ge 2 ]; then
		pin=1
	fi
fi
server_pin=()
client_pin=()
if [ "$pin" = 1 ]; then
	read -r server_cpu client_cpu < <(cpus | head -n 2 | xargs)
	server_pin=(env GOMAXPROCS=1 taskset -c "$server_cpu")
	client_pin=(taskset -c "$client_cpu")
fi

if ! command -v wrk >/dev/null 2>&1; then
	echo "installing: wrk"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

tmp=$(mktemp -d)
server=""
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go test -c -o "$tmp/auth.test" .
MONOCLOUD_LOADTEST_DIR=$tmp "${server_pin[@]}" "$tmp/auth.test" -test.run='^TestLoadServer$' -test.count=1 >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 600); do
	[ -s "$tmp/addr" ] && break
	kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log"; exit 1; }
	sleep 0.1
done
[ -s "$tmp/addr" ] || { echo "the server did not start"; cat "$tmp/server.log"; exit 1; }
addr=$(cat "$tmp/addr")
ticks=$(getconf CLK_TCK)

# cpu prints the server's user plus system CPU time, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }

if [ "$pin" = 1 ]; then
	placement="server on CPU $server_cpu with GOMAXPROCS=1, wrk on CPU $client_cpu"
else
	placement="server and wrk share the CPUs"
fi
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c$connections -d$duration; $placement; $rounds rounds"
# Bare and protected alternate within each round, so that a slow spell of
# the machine hits both; the summary gives each case's median round.
for round in $(seq "$rounds"); do
	for cookies in 1 10000; do
		for path in bare protected; do
			before=$(cpu)
			out=$(COOKIES="$tmp/cookies" ROTATE=$cookies "${client_pin[@]}" wrk -t1 -c"$connections" -d"$duration" -s scripts/loadtest.lua "http://$addr/$path")
			after=$(cpu)
			if grep -q "Non-2xx" <<<"$out"; then
				echo "$path with $cookies cookies: non-2xx answers"; echo "$out"; exit 1
			fi
			requests=$(awk '/requests in/ {print $1}' <<<"$out")
			rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
			awk -v r="$round" -v k="$cookies" -v p="$path" -v rps="$rps" -v req="$requests" -v cpu=$((after - before)) -v hz="$ticks" \
				'BEGIN {printf "%s %s %s %.0f %.1f\n", r, k, p, rps, cpu / hz * 1e6 / req}' | tee -a "$tmp/rounds"
		done
	done
done
echo
printf '%-28s %12s %16s %14s\n' case requests/s "CPU µs/request" "share of bare"
for cookies in 1 10000; do
	for path in bare protected; do
		rps=$(awk -v k="$cookies" -v p="$path" '$2 == k && $3 == p {print $4}' "$tmp/rounds" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
		cpu_us=$(awk -v k="$cookies" -v p="$path" '$2 == k && $3 == p {print $5}' "$tmp/rounds" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
		[ "$path" = bare ] && bare=$rps
		awk -v c="$path, $cookies cookie(s)" -v rps="$rps" -v cpu="$cpu_us" -v bare="$bare" \
			'BEGIN {printf "%-28s %12.0f %16.1f %14.2f\n", c, rps, cpu, rps / bare}'
	done
done
