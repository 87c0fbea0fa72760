#!/usr/bin/env bash
# Catalog query benchmark (PERFORMANCE.md, "Catalog queries"): an aggregate over the synthetic
# catalogue through the HTTP API (a sandboxed worker per query) against the same SQL on the same
# DuckDB file in-process (`OpenSciServer catalog time`), same threads, same run.
# Usage: bench/casjobs.sh [rows] [repeats]    (defaults: 10000000 rows, 30 repeats)
# Prints a Markdown table; paste it into bench/BENCHMARKS.md with the date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages curl bubblewrap

rows=${1:-10000000}
repeats=${2:-30}
threads=2
sql="SELECT class, count(*) AS n, avg(flux_05_2) AS mean_flux, max(det_like) AS max_like FROM erass_synthetic GROUP BY class ORDER BY class"

app_port=5393; nginx_port=5394
source bench/lib.sh
export CasJobs__DemoRows=$rows CasJobs__Threads=$threads
start_platform
token=$(login admin bench-admin-password)
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }
catalog="$work/data/catalogs/demo.duckdb"

body=$(printf '{"query":"%s"}' "$sql")
api_times() {
  for _ in $(seq 0 "$repeats"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
      -d "$body" "http://127.0.0.1:$app_port/api/casjobs/contexts/Demo/query"
  done | tail -n +2 | awk '{ printf "%.3f\n", $1 * 1000 }'
}
# The answer must be right before it is timed.
curl -sf -H "X-Auth-Token: $token" -H 'Content-Type: application/json' -d "$body" \
  "http://127.0.0.1:$app_port/api/casjobs/contexts/Demo/query" | grep -q '"agn"' || { echo "the query failed" >&2; exit 1; }

api=$(api_times)
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
reference=$(dotnet .build/app/OpenSciServer.dll catalog time "$catalog" "$threads" "$repeats" "$sql")

stats() { sort -n | awk '{ a[NR] = $1 } END { printf "%.1f %.1f %.1f", a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.5)], a[1] }'; }
read -r api_med api_p95 api_min <<<"$(echo "$api" | stats)"
read -r ref_med ref_p95 ref_min <<<"$(echo "$reference" | stats)"
ratio=$(awk -v a="$api_med" -v r="$ref_med" 'BEGIN { printf "%.2f", a / r }')

echo "| what ($rows rows, $threads threads, $repeats runs) | median ms | p95 ms | min ms |"
echo "|---|---|---|---|"
echo "| aggregate through the HTTP API | $api_med | $api_p95 | $api_min |"
echo "| same SQL in-process on the same file (reference) | $ref_med | $ref_p95 | $ref_min |"
echo "| **ratio API / in-process (goal ≤ 1.3)** | **$ratio** | | |"
