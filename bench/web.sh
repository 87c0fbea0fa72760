#!/usr/bin/env bash
# Web benchmark (PERFORMANCE.md, "Web"): wrk against the dashboard and the API, with nginx serving a
# static page of the same size on the same machine in the same run as the reference.
# Usage: bench/web.sh [duration-seconds] [connections...]   (defaults: 10 s; 50 and 200 connections)
# Prints a Markdown table; paste it into bench/BENCHMARKS.md with the date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages wrk nginx curl

duration=${1:-10}; shift || true
conns=("$@"); [ ${#conns[@]} -gt 0 ] || conns=(50 200)

app_port=5391; nginx_port=5392
source bench/lib.sh
start_platform
token=$(login admin bench-admin-password)
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }

# The reference: nginx serving the login page's own HTML as a static file.
mkdir -p "$work/www"
chmod 755 "$work/www"
curl -s "http://127.0.0.1:$app_port/login" >"$work/www/login.html"
start_nginx "server { listen 127.0.0.1:$nginx_port; root $work/www; }"

run() { # name url [header]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t2 -c"$c" -d"${duration}s" --latency -H "$3" "$2")
  else
    out=$(wrk -t2 -c"$c" -d"${duration}s" --latency "$2")
  fi
  local rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {printf "%s ", $0}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$c" "$rps" "$p50" "$p99" "${errors:-none}"
}

# Warm up (JIT, connection pools, SQLite page cache) before measuring.
for url in "http://127.0.0.1:$app_port/login" "http://127.0.0.1:$app_port/health"; do wrk -t2 -c50 -d3s "$url" >/dev/null; done
wrk -t2 -c50 -d3s -H "X-Auth-Token: $token" "http://127.0.0.1:$app_port/api/account" >/dev/null

echo "| target | connections | requests/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|"
for c in "${conns[@]}"; do
  run "nginx, static login page (reference)" "http://127.0.0.1:$nginx_port/login.html"
  run "dashboard /login (server-rendered)" "http://127.0.0.1:$app_port/login"
  run "API GET /api/account (X-Auth-Token)" "http://127.0.0.1:$app_port/api/account" "X-Auth-Token: $token"
  run "GET /health (database check)" "http://127.0.0.1:$app_port/health"
done
