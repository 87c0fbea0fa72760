#!/usr/bin/env bash
# Catalog import benchmark (issue 8: "import of a large catalog ... builds the index column and the ordering with progress
# shown, in bounded memory"). Generates the demo catalogue at N rows (`OpenSciServer catalog generate`), exports it as
# Parquet and CSV without its HEALPix column, in random sky order (`catalog export`), publishes the folder as a read-only
# data volume, and imports each file through the admin API (POST /api/admin/casjobs/contexts → 202) with the configured
# memory limit. While it runs it polls GET /api/admin/casjobs/imports/{id} once a second and prints each new progress line,
# and samples the import worker's memory (VmRSS and VmHWM of the sandbox's processes, from /proc), the platform's own
# resident memory, and the size of DuckDB's spill folder. At the end: time, rows/s, peaks, and a check through the query
# API that the row count matches and the rows are ordered by healpix.
# Usage: bench/import.sh [rows] [memory limit]   (defaults: 1000000 rows, 2GiB = CasJobs:MemoryLimit's default)
# Generated files are kept in ${OSS_BENCH_DATA:-/tmp/oss-bench-import}/<rows> for the next run.
# Prints Markdown; paste it into bench/BENCHMARKS.md ("Catalog import") with the date, machine and load average.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages curl jq bubblewrap

rows=${1:-1000000}
memory=${2:-2GiB}
threads=2
app_port=5397; nginx_port=5398
source bench/lib.sh

data_root=${OSS_BENCH_DATA:-/tmp/oss-bench-import}/$rows
mkdir -p "$data_root"
dotnet publish src/OpenSciServer -c Release -o .build/app --nologo -v quiet
cli() { dotnet .build/app/OpenSciServer.dll "$@"; }
if [ ! -f "$data_root/erass_synthetic.parquet" ] || [ ! -f "$data_root/erass_synthetic.csv" ]; then
  rm -f "$data_root"/*
  echo "generating $rows rows in $data_root" >&2
  cli catalog generate "$data_root/demo.duckdb" "$rows" >&2
  cli catalog export "$data_root/demo.duckdb" "$data_root/erass_synthetic.parquet" >&2
  cli catalog export "$data_root/demo.duckdb" "$data_root/erass_synthetic.csv" >&2
  rm -f "$data_root/demo.duckdb"
fi

export CasJobs__DemoRows=1000 CasJobs__Threads=$threads CasJobs__MemoryLimit=$memory CasJobs__QuickQueryTimeout=00:30:00 CasJobs__CatalogImportTimeout=1.00:00:00
OPENSCISERVER_DATA="$work/data" OPENSCISERVER_ADMIN_PASSWORD=bench-admin-password Logging__LogLevel__Default=Warning \
  dotnet .build/app/OpenSciServer.dll --contentRoot "$PWD/.build/app" --urls "http://127.0.0.1:$app_port" >"$work/app.log" 2>&1 &
app_pid=$!
# The platform writes its import files as it stops: wait for it before lib.sh's cleanup removes the scratch folder.
trap 'kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$app_port/health" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$app_port/health" >/dev/null || { echo "the platform did not start: $(tail -5 "$work/app.log")" >&2; exit 1; }
token=$(login admin bench-admin-password)
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }
api() { curl -s -H "X-Auth-Token: $token" -H 'Content-Type: application/json' "$@"; }
# Data volumes live under Files:DataVolumesPath (<data>/volumes/Data): the generated files are linked there (copied across file systems).
volume="$work/data/volumes/Data/benchdata"
mkdir -p "$volume"
for f in erass_synthetic.parquet erass_synthetic.csv; do ln "$data_root/$f" "$volume/$f" 2>/dev/null || cp "$data_root/$f" "$volume/$f"; done
registered=$(api -d "{\"name\":\"benchdata\",\"path\":\"$volume\"}" "http://127.0.0.1:$app_port/api/admin/data-volumes")
jq -e .name <<<"$registered" >/dev/null || { echo "data volume: $registered" >&2; exit 1; }

kib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
status_kib() { awk -v f="$2" '$1 == f":" { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
catalogs="$work/data/catalogs"
tree() { echo "$1"; local c; for c in $(pgrep -P "$1" || true); do tree "$c"; done; }

# import FORMAT CONTEXT: one import, progress lines on stderr, one Markdown row on stdout.
import() {
  local format=$1 name=$2 file="$volume/erass_synthetic.$1"
  local platform_before; platform_before=$(status_kib "$app_pid" VmRSS)
  local started; started=$(date +%s.%N)
  local answer; answer=$(api -d "{\"name\":\"$name\",\"path\":\"benchdata/erass_synthetic.$format\",\"table\":\"erass_synthetic\"}" \
    "http://127.0.0.1:$app_port/api/admin/casjobs/contexts")
  local id; id=$(jq -r '.id // empty' <<<"$answer")
  [ -n "$id" ] || { echo "import of $format refused: $answer" >&2; exit 1; }
  local peak_worker=0 peak_hwm=0 peak_platform=0 peak_spill=0 last="" state="" tick=0
  while :; do
    # Memory and spill: sampled 5 times a second; the import route once a second.
    local pids; pids=$(for p in $(pgrep -f "query-worker" || true); do grep -qs "\.import-$id" "/proc/$p/cmdline" && tree "$p"; done | sort -u || true)
    local rss=0 hwm=0
    for p in $pids; do
      local r h; r=$(status_kib "$p" VmRSS); h=$(status_kib "$p" VmHWM)
      rss=$(( rss + ${r:-0} )); hwm=$(( hwm + ${h:-0} ))
    done
    (( rss > peak_worker )) && peak_worker=$rss
    (( hwm > peak_hwm )) && peak_hwm=$hwm
    local app_rss; app_rss=$(status_kib "$app_pid" VmRSS); (( ${app_rss:-0} > peak_platform )) && peak_platform=${app_rss:-0}
    local spill; spill=$( (du -sk "$catalogs/.import-$id/spill" 2>/dev/null || true) | cut -f1); spill=${spill:-0}
    (( spill > peak_spill )) && peak_spill=$spill
    if (( tick % 5 == 0 )); then
      local now; now=$(api "http://127.0.0.1:$app_port/api/admin/casjobs/imports/$id")
      state=$(jq -r .state <<<"$now")
      local line; line=$(jq -r '"\(.state) \(.phase): rows \(.rowsRead // "?") of \(.rowsTotal // "?"), \(.bytesRead / 1048576 | floor) of \(.bytesTotal / 1048576 | floor) MiB read (\(.percentRead) %), spill \(.spillBytes / 1048576 | floor) MiB, \(.elapsedSeconds) s"' <<<"$now")
      [ "$line" != "$last" ] && { echo "  $format: $line" >&2; last=$line; }
      case $state in Ready|Failed|Canceled) break ;; esac
    fi
    tick=$((tick + 1))
    sleep 0.2
  done
  [ "$state" = Ready ] || { echo "import of $format ended $state: $(jq -r .error <<<"$now")" >&2; exit 1; }
  local seconds; seconds=$(jq -r .elapsedSeconds <<<"$now")
  local wall; wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  local imported; imported=$(jq -r .rowsRead <<<"$now")
  # The check: every row there, and each row's healpix at least the one before it in storage order.
  local check; check=$(api -d '{"query":"SELECT count(*) AS n, count(*) FILTER (WHERE back) AS out_of_order FROM (SELECT healpix < lag(healpix) OVER (ORDER BY rowid) AS back FROM erass_synthetic)"}' \
    "http://127.0.0.1:$app_port/api/casjobs/contexts/$name/query")
  local n; n=$(jq -r '.resultSets[0].rows[0][0]' <<<"$check")
  local back; back=$(jq -r '.resultSets[0].rows[0][1]' <<<"$check")
  [ "$n" = "$rows" ] && [ "$back" = 0 ] || { echo "check failed for $format: $check" >&2; exit 1; }
  local size; size=$(stat -c %s "$file")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$format" "$(awk -v s="$size" 'BEGIN { printf "%.0f MiB", s / 1048576 }')" "$seconds" "$wall" \
    "$(awk -v r="$imported" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }')" "$(kib "$peak_worker")" "$(kib "$peak_hwm")" "$(kib "$peak_spill")" \
    "$(kib "$((peak_platform - platform_before))")" "rows $n, ordered"
}

echo "Catalog import of $rows rows, CasJobs:MemoryLimit=$memory, threads=$threads, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo
echo "| file | size | import s (route) | wall s | rows/s | worker peak RSS (sampled) | worker VmHWM | spill peak | platform RSS growth | check |"
echo "|---|---|---|---|---|---|---|---|---|---|"
import parquet ImpParquet
import csv ImpCsv
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
