#!/usr/bin/env bash
# Files benchmark (PERFORMANCE.md, "Files"): download and upload of a 2 GiB file through the platform
# against nginx on loopback in the same run (nginx serves the file, and takes PUT uploads through its
# WebDAV module, which also writes to a temp file and renames it), and the platform's resident memory
# while it streams 5 GiB each way. Prints Markdown for bench/BENCHMARKS.md.
# Usage: bench/files.sh [runs]     (default 3 runs per measurement; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages nginx curl

runs=${1:-3}
app_port=5393; nginx_port=5394
source bench/lib.sh
start_platform
admin=$(login admin bench-admin-password)
curl -sf -H "X-Auth-Token: $admin" -H 'Content-Type: application/json' \
  -d '{"username":"bench","email":"bench@example.org","password":"bench-user-password"}' "http://127.0.0.1:$app_port/api/admin/users" >/dev/null
token=$(login bench bench-user-password)
# Temporary has no quota, so 5 GiB fit.
base="http://127.0.0.1:$app_port/api/files/content/Temporary/bench/scratch"

mkdir -p "$work/www" "$work/put" "$work/nginx-tmp"
chmod 777 "$work/put" "$work/nginx-tmp"; chmod 755 "$work/www"
dd if=/dev/urandom of="$work/www/file.bin" bs=1M count=2048 status=none
start_nginx "sendfile on;
  client_max_body_size 0;
  client_body_temp_path $work/nginx-tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    location /file.bin { root $work/www; }
    location /put/ { root $work; dav_methods PUT; create_full_put_path on; }
  }"
curl -sf -H "X-Auth-Token: $token" -T "$work/www/file.bin" "$base/file.bin" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mbps() { awk '{printf "%.0f", $1/1048576}'; }
measure() { # label command... ; prints median MiB/s over $runs runs
  for _ in $(seq 1 "$runs"); do "$@"; echo; done | median | mbps
}

dl_nginx=$(measure curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$nginx_port/file.bin")
dl_oss=$(measure curl -s -o /dev/null -w '%{speed_download}' -H "X-Auth-Token: $token" "$base/file.bin")
ul_nginx=$(measure curl -s -o /dev/null -w '%{speed_upload}' -T "$work/www/file.bin" "http://127.0.0.1:$nginx_port/put/up.bin")
ul_oss=$(measure curl -s -o /dev/null -w '%{speed_upload}' -H "X-Auth-Token: $token" -T "$work/www/file.bin" "$base/up.bin")
cp_speed=$( { /usr/bin/time -f '%e' cp "$work/www/file.bin" "$work/copy.bin" ; } 2>&1 | awk '{printf "%.0f", 2048/$1}'); rm -f "$work/copy.bin"

rss() { awk '/VmRSS/ {print $2}' "/proc/$app_pid/status"; }
peak_while() { # runs a command in the background and samples the server's RSS (KiB) until it ends
  local peak=0 r
  "$@" & local pid=$!
  while kill -0 "$pid" 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2; done
  wait "$pid"
  echo "$peak"
}
rss_base=$(rss)
up_peak=$(peak_while sh -c "head -c 5G /dev/zero | curl -s -o /dev/null -H 'X-Auth-Token: $token' -T - '$base/five.bin'")
down_peak=$(peak_while curl -s -o /dev/null -H "X-Auth-Token: $token" "$base/five.bin")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
echo "| measurement | nginx (reference) | platform | ratio | goal |"
echo "|---|---|---|---|---|"
echo "| download 2 GiB, MiB/s (median of $runs) | $dl_nginx | $dl_oss | $(ratio "$dl_oss" "$dl_nginx") | ≥ 0.9 |"
echo "| upload 2 GiB, MiB/s (median of $runs) | $ul_nginx | $ul_oss | $(ratio "$ul_oss" "$ul_nginx") | ≥ 0.8 |"
echo
echo "Disk copy (cp) of the same file: $cp_speed MiB/s."
echo "Platform RSS: $((rss_base / 1024)) MiB idle; peak while uploading 5 GiB: $((up_peak / 1024)) MiB (+$(((up_peak - rss_base) / 1024))); while downloading it: $((down_peak / 1024)) MiB (+$(((down_peak - rss_base) / 1024))). Goal: growth < 64 MiB."
