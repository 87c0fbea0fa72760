#!/usr/bin/env bash
# Sky query benchmark (issue 8, PERFORMANCE.md): cone searches of r = 1 arcmin at random positions through the HTTP API
# against the same cones in-process on the same DuckDB file (`OpenSciServer catalog sky-time`: translated the same way,
# through the HEALPix index, on one warm session), and a crossmatch of a MyDB table of N probes against the catalogue
# within 1 arcsec. The PostgreSQL + q3c comparison comes with the PostgreSQL engine.
# Usage: bench/sky.sh [rows] [positions] [probes]    (defaults: 1000000 rows, 100 positions, 100000 probes)
# Prints Markdown; paste it into bench/BENCHMARKS.md ("Sky queries") with the date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages curl bubblewrap

rows=${1:-1000000}
positions=${2:-100}
probes=${3:-100000}
threads=2
radius="1 / 60.0"
cone_sql="SELECT id, ra, dec, angdist_arcsec(ra, dec, {ra}, {dec}) AS d FROM erass_synthetic WHERE cone(ra, dec, {ra}, {dec}, {r})"

app_port=5395; nginx_port=5396
source bench/lib.sh
export CasJobs__DemoRows=$rows CasJobs__Threads=$threads
# lib.sh's start_platform waits 30 s; the first start builds the demo catalogue, which takes minutes at 1e7 rows on a busy machine.
dotnet publish src/OpenSciServer -c Release -o .build/app --nologo -v quiet
OPENSCISERVER_DATA="$work/data" OPENSCISERVER_ADMIN_PASSWORD=bench-admin-password Logging__LogLevel__Default=Warning \
  dotnet .build/app/OpenSciServer.dll --contentRoot "$PWD/.build/app" --urls "http://127.0.0.1:$app_port" >"$work/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 1200); do curl -sf "http://127.0.0.1:$app_port/health" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$app_port/health" >/dev/null || { echo "the platform did not start: $(tail -5 "$work/app.log")" >&2; exit 1; }
token=$(login admin bench-admin-password)
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }
catalog="$work/data/catalogs/demo.duckdb"

# The same random positions for both (uniform on the sphere, fixed seed).
awk -v n="$positions" 'BEGIN { srand(8); for (i = 0; i < n; i++) { u = 2 * rand() - 1; printf "%.6f %.6f\n", rand() * 360, atan2(u, sqrt(1 - u * u)) * 180 / 3.141592653589793 } }' >"$work/positions.txt"

query() { # query SQL [context]: one request, prints "ms rows"
  local body; body=$(jq -cn --arg q "$1" '{query: $q}')
  curl -s -o "$work/answer.json" -w '%{time_total}\n' -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$app_port/api/casjobs/contexts/${2:-Demo}/query" | awk '{ printf "%.3f", $1 * 1000 }'
  grep -q '"resultSets"' "$work/answer.json" || { echo; echo "query failed: $(cat "$work/answer.json")" >&2; exit 1; }
  echo " $(jq '.resultSets[0].rows | length' "$work/answer.json")"
}

# Warm-up (starts the user's worker), then one request per position.
first=$(head -1 "$work/positions.txt")
query "$(echo "$cone_sql" | sed "s|{ra}|${first% *}|g; s|{dec}|${first#* }|g; s|{r}|$radius|g")" >/dev/null
api=""; found=0
while read -r ra dec; do
  read -r ms n <<<"$(query "$(echo "$cone_sql" | sed "s|{ra}|$ra|g; s|{dec}|$dec|g; s|{r}|$radius|g")")"
  api+="$ms"$'\n'; found=$((found + n))
done <"$work/positions.txt"

# For scale: the platform's fixed cost per query (SELECT 1), and the same cone as a brute-force filter (no index), 20 positions.
fixed=""; for _ in $(seq 1 "$positions"); do read -r ms _ <<<"$(query "SELECT 1")"; fixed+="$ms"$'\n'; done
brute=""
while read -r ra dec; do
  read -r ms _ <<<"$(query "SELECT id, ra, dec FROM erass_synthetic WHERE angdist(ra, dec, $ra, $dec) <= $radius")"; brute+="$ms"$'\n'
done < <(head -20 "$work/positions.txt")

# Crossmatch: N probes in MyDB, 0-2 arcsec off catalogue sources, against the catalogue within 1 arcsec.
query "CREATE TABLE mydb.probes AS SELECT row_number() OVER () AS pid, ra + (random() - 0.5) * 2 / 3600 / greatest(cos(radians(dec)), 0.01) AS ra, dec + (random() - 0.5) * 2 / 3600 AS dec FROM erass_synthetic USING SAMPLE $probes ROWS (reservoir, 1)" >/dev/null
read -r xm_ms _ <<<"$(query "SELECT count(*) AS pairs FROM xmatch('mydb.probes', 'erass_synthetic', 1)")"
xm_pairs=$(jq '.resultSets[0].rows[0][0]' "$work/answer.json")
read -r xmn_ms _ <<<"$(query "SELECT count(*) AS matched FROM xmatch_nearest('mydb.probes', 'erass_synthetic', 1)")"
xmn_rows=$(jq '.resultSets[0].rows[0][0]' "$work/answer.json")
read -r xp_ms _ <<<"$(query "SELECT count(*) AS pairs FROM mydb.probes p JOIN erass_synthetic s ON xmatch(p.ra, p.dec, s.ra, s.dec, 1)")"
xp_pairs=$(jq '.resultSets[0].rows[0][0]' "$work/answer.json")

kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
reference=$(dotnet .build/app/OpenSciServer.dll catalog sky-time "$catalog" "$threads" "$work/positions.txt" "$radius" "$cone_sql")

stats() { sort -n | awk 'NF { a[++n] = $1 } END { printf "%.1f %.1f %.1f", a[int((n + 1) / 2)], a[int(n * 0.95 + 0.5)], a[1] }'; }
read -r api_med api_p95 api_min <<<"$(echo -n "$api" | stats)"
read -r ref_med ref_p95 ref_min <<<"$(echo "$reference" | stats)"
ratio=$(awk -v a="$api_med" -v r="$ref_med" 'BEGIN { printf "%.2f", a / r }')
read -r fix_med fix_p95 fix_min <<<"$(echo -n "$fixed" | stats)"
read -r bf_med bf_p95 bf_min <<<"$(echo -n "$brute" | stats)"

echo "| cone r = 1 arcmin, $positions random positions, $rows rows, $threads threads ($found sources found) | median ms | p95 ms | min ms |"
echo "|---|---|---|---|"
echo "| through the HTTP API | $api_med | $api_p95 | $api_min |"
echo "| same cones in-process on the same file (reference) | $ref_med | $ref_p95 | $ref_min |"
echo "| **ratio API / in-process** | **$ratio** | | |"
echo "| for scale: \`SELECT 1\` through the API (fixed cost per query) | $fix_med | $fix_p95 | $fix_min |"
echo "| for scale: the same cone as a brute-force \`angdist\` filter through the API (20 positions) | $bf_med | $bf_p95 | $bf_min |"
echo
echo "| crossmatch $probes MyDB probes × $rows catalogue rows within 1 arcsec, through the API | ms | result |"
echo "|---|---|---|"
echo "| \`xmatch('mydb.probes', 'erass_synthetic', 1)\` (zones, all pairs) | $xm_ms | $xm_pairs pairs |"
echo "| \`xmatch_nearest(...)\` (zones, nearest per probe) | $xmn_ms | $xmn_rows probes matched |"
echo "| \`JOIN ... ON xmatch(p.ra, p.dec, s.ra, s.dec, 1)\` (declination-band join) | $xp_ms | $xp_pairs pairs |"
