# Shared by the benchmarks: a scratch folder, the published platform on a port, nginx beside it,
# and a Keystone login. Source it after scripts/common.sh; set app_port and nginx_port first.

work=$(mktemp -d /tmp/oss-bench-XXXX)
chmod 755 "$work"  # nginx workers run as www-data
cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_platform: publishes (Release) and starts the platform with its own data folder; sets app_pid.
start_platform() {
  dotnet publish src/OpenSciServer -c Release -o .build/app --nologo -v quiet
  OPENSCISERVER_DATA="$work/data" OPENSCISERVER_ADMIN_PASSWORD=bench-admin-password Logging__LogLevel__Default=Warning \
    dotnet .build/app/OpenSciServer.dll --contentRoot "$PWD/.build/app" --urls "http://127.0.0.1:$app_port" >"$work/app.log" 2>&1 &
  app_pid=$!
  for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$app_port/health" >/dev/null && return 0; sleep 0.5; done
  echo "the platform did not start; see $work/app.log" >&2
  exit 1
}

# login USER PASSWORD: prints a token from the Keystone route.
login() {
  curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"password\":{\"user\":{\"name\":\"$1\",\"password\":\"$2\"}}}}}" \
    "http://127.0.0.1:$app_port/login-portal/keystone/v3/tokens" | tr -d '\r' | sed -n 's/^X-Subject-Token: //Ip'
}

# start_nginx CONFIG-BODY: runs nginx with the given http{} body on $nginx_port.
start_nginx() {
  cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  $1
}
CONF
  nginx -c "$work/nginx.conf"
  sleep 0.5
}
