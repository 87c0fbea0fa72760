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

work=$(mktemp -d /tmp/oss-bench-XXXX)
app_port=5391; nginx_port=5392
cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

dotnet publish src/OpenSciServer -c Release -o .build/app --nologo -v quiet
OPENSCISERVER_DATA="$work/data" OPENSCISERVER_ADMIN_PASSWORD=bench-admin-password Logging__LogLevel__Default=Warning \
  dotnet .build/app/OpenSciServer.dll --contentRoot "$PWD/.build/app" --urls "http://127.0.0.1:$app_port" >"$work/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$app_port/health" >/dev/null && break; sleep 0.5; done

token=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -d '{"auth":{"identity":{"password":{"user":{"name":"admin","password":"bench-admin-password"}}}}}' \
  "http://127.0.0.1:$app_port/login-portal/keystone/v3/tokens" | tr -d '\r' | sed -n 's/^X-Subject-Token: //Ip')
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }

# The reference: nginx serving the login page's own HTML as a static file.
mkdir -p "$work/www"
chmod 755 "$work" "$work/www"  # nginx workers run as www-data
curl -s "http://127.0.0.1:$app_port/login" >"$work/www/login.html"
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
CONF
nginx -c "$work/nginx.conf"
sleep 0.5

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
