#!/usr/bin/env bash
# Sky queries against PostgreSQL 15 + q3c (issue 8, PERFORMANCE.md), same rows, same machine, same run:
#  1. cone r = 1 arcmin at N random positions (fixed seed): HTTP API on the DuckDB context (Demo), HTTP API on a
#     PostgreSQL context registered the platform's way (CasJobs:PostgresServers + admin API), and q3c directly
#     (psycopg2, one warm connection, q3c_radial_query). Interleaved per position; a warm-up pass is not counted.
#  2. crossmatch probes (1 in 10 catalogue rows moved by up to 1 arcsec, deterministic) x catalogue within 1 arcsec:
#     DuckDB xmatch('mydb.probes', ...) through the HTTP API vs q3c_join directly in PostgreSQL (and through the API
#     on the PostgreSQL context with JOIN ... ON xmatch(...)); pair counts printed.
#  3. a full-scan aggregate (count, avg flux per det_like bin): HTTP API on Demo vs the same SQL in-process on the same
#     DuckDB file (`OpenSciServer catalog time`), vs PostgreSQL directly and through the API.
# The catalogue is the platform's own demo catalogue (CasJobs:DemoRows, fixed seed), exported to CSV and loaded into a
# private PostgreSQL 15 cluster started here (initdb as postgres in /tmp, free port, stopped at exit).
# Usage: bench/sky-q3c.sh [rows] [positions] [aggregate repeats]  (defaults: 10000000 100 5). Run as root.
# Prints Markdown; paste it into bench/BENCHMARKS.md ("Sky queries") with the date, machine and load.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages curl jq bubblewrap postgresql-15 postgresql-15-q3c python3-psycopg2 python3-requests

rows=${1:-10000000}
positions=${2:-100}
repeats=${3:-5}
probe_step=10
threads=2
pgbin=/usr/lib/postgresql/15/bin
app_port=5397; nginx_port=5398
source bench/lib.sh
log() { echo "[$(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)] $*" >&2; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- a private PostgreSQL 15 cluster -------------------------------------------------------------------------------
pg_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pgdir="$work/pg"; mkdir -p "$pgdir"; chown postgres:postgres "$pgdir"
pg() { runuser -u postgres -- "$@"; }
stop_pg() { [ -f "$pgdir/data/postmaster.pid" ] && pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true; }
trap 'stop_pg; cleanup' EXIT
pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
# Query-time settings a catalogue server would have (the table fits in memory); wal_level=minimal and fsync=off only
# shorten the load (CREATE TABLE + COPY in one transaction writes no WAL) and do not change how queries run.
pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 120 -o "-p $pg_port -k $pgdir -c listen_addresses=127.0.0.1 \
  -c fsync=off -c wal_level=minimal -c max_wal_senders=0 -c shared_buffers=2GB -c work_mem=64MB -c maintenance_work_mem=1GB \
  -c effective_cache_size=8GB -c max_connections=100" start >/dev/null
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE bench"
log "PostgreSQL 15 on port $pg_port"

# --- the platform, with the demo catalogue at $rows rows and the cluster as a PostgreSQL server ----------------------
dotnet publish src/OpenSciServer -c Release -o .build/app --nologo -v quiet
start_app() {
  OPENSCISERVER_DATA="$work/data" OPENSCISERVER_ADMIN_PASSWORD=bench-admin-password Logging__LogLevel__Default=Warning \
  CasJobs__DemoRows=$rows CasJobs__Threads=$threads \
  CasJobs__PostgresServers__bench__ConnectionString="Host=127.0.0.1;Port=$pg_port;Username=postgres" \
  CasJobs__PostgresServers__bench__RoleSecret=bench-role-secret \
    dotnet .build/app/OpenSciServer.dll --contentRoot "$PWD/.build/app" --urls "http://127.0.0.1:$app_port" >>"$work/app.log" 2>&1 &
  app_pid=$!
  # The first start builds the demo catalogue: minutes at 1e7 rows on a busy machine.
  for _ in $(seq 1 2400); do curl -sf "http://127.0.0.1:$app_port/health" >/dev/null && return 0; sleep 0.5; done
  echo "the platform did not start: $(tail -5 "$work/app.log")" >&2; exit 1
}
stop_app() { kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=; }
t0=$(date +%s)
start_app
log "demo catalogue of $rows rows built after $(( $(date +%s) - t0 )) s"
stop_app  # the exports below open the file in-process
catalog="$work/data/catalogs/demo.duckdb"
time_sql() { dotnet .build/app/OpenSciServer.dll catalog time "$catalog" "$threads" "$1" "$2"; }

# --- the same rows for PostgreSQL, and the probes for both ---------------------------------------------------------
# DuckDB writes doubles in their shortest round-trip form; PostgreSQL reads them back to the same bits.
t0=$(date +%s)
time_sql 0 "COPY (SELECT * FROM erass_synthetic) TO '$work/catalog.csv' (HEADER false)" >/dev/null
# Probes: every ${probe_step}th source moved by a deterministic offset of up to 1 arcsec in each coordinate.
time_sql 0 "COPY (SELECT id AS pid,
    CASE WHEN r < 0 THEN r + 360 WHEN r >= 360 THEN r - 360 ELSE r END AS ra, d AS dec
  FROM (SELECT id, ra + ((hash(id) % 2001)::DOUBLE - 1000) / 1000 / 3600 / greatest(cos(radians(dec)), 0.01) AS r,
               least(90, greatest(-90, dec + ((hash(id * 7 + 3) % 2001)::DOUBLE - 1000) / 1000 / 3600)) AS d
        FROM erass_synthetic WHERE id % $probe_step = 0) ORDER BY pid) TO '$work/probes.parquet' (FORMAT parquet)" >/dev/null
time_sql 0 "COPY (SELECT * FROM '$work/probes.parquet') TO '$work/probes.csv' (HEADER false)" >/dev/null
chmod 644 "$work"/*.csv
probes=$(wc -l <"$work/probes.csv")
log "exported $(du -h "$work/catalog.csv" | cut -f1) of CSV and $probes probes in $(( $(date +%s) - t0 )) s"

t0=$(date +%s)
psql_ -d bench <<SQL
CREATE EXTENSION q3c;
CREATE SCHEMA cat;
BEGIN;
CREATE TABLE cat.erass_synthetic (id bigint, ra double precision, dec double precision,
  flux_05_2 double precision, flux_05_2_err double precision, flux_2_5 double precision, flux_2_5_err double precision,
  det_like double precision, ext double precision, mag double precision, class text, healpix bigint);
COPY cat.erass_synthetic FROM '$work/catalog.csv' (FORMAT csv);
CREATE TABLE cat.probes (pid bigint, ra double precision, dec double precision);
COPY cat.probes FROM '$work/probes.csv' (FORMAT csv);
COMMIT;
SQL
t_copy=$(( $(date +%s) - t0 ))
psql_ -d bench -c "CREATE INDEX erass_synthetic_q3c_idx ON cat.erass_synthetic (q3c_ang2ipix(ra, dec))"
t_index=$(( $(date +%s) - t0 - t_copy ))
psql_ -d bench -c "CLUSTER cat.erass_synthetic USING erass_synthetic_q3c_idx" -c "ANALYZE cat.erass_synthetic" -c "ANALYZE cat.probes" -c "CHECKPOINT"
t_cluster=$(( $(date +%s) - t0 - t_copy - t_index ))
pg_rows=$(psql_ -d bench -Atc "SELECT count(*) FROM cat.erass_synthetic")
[ "$pg_rows" = "$rows" ] || { echo "PostgreSQL holds $pg_rows rows, not $rows" >&2; exit 1; }
pg_size=$(psql_ -d bench -Atc "SELECT pg_size_pretty(pg_total_relation_size('cat.erass_synthetic'))")
log "PostgreSQL loaded: COPY ${t_copy} s, q3c index ${t_index} s, CLUSTER + ANALYZE ${t_cluster} s ($pg_size)"

# --- the platform again: the PostgreSQL context, the probes in the admin's MyDB ------------------------------------
start_app
token=$(login admin bench-admin-password)
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }
curl -sf -X POST "http://127.0.0.1:$app_port/api/admin/casjobs/contexts" -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
  -d '{"name":"PgBench","engine":"postgres","server":"bench","database":"bench","schema":"cat","timeoutSeconds":900,"isPublic":true}' >/dev/null \
  || { echo "registering the PostgreSQL context failed: $(tail -5 "$work/app.log")" >&2; exit 1; }
curl -sf -X POST "http://127.0.0.1:$app_port/api/casjobs/mydb/tables/probes/upload?format=parquet" -H "X-Auth-Token: $token" \
  -H 'Content-Type: application/octet-stream' --data-binary "@$work/probes.parquet" >/dev/null \
  || { echo "uploading the probes failed" >&2; exit 1; }
log "PostgreSQL context registered, probes in MyDB"

# The same random positions for every variant (uniform on the sphere, fixed seed; bench/sky.sh's).
awk -v n="$positions" 'BEGIN { srand(8); for (i = 0; i < n; i++) { u = 2 * rand() - 1; printf "%.6f %.6f\n", rand() * 360, atan2(u, sqrt(1 - u * u)) * 180 / 3.141592653589793 } }' >"$work/positions.txt"

agg_sql="SELECT floor(det_like / 5) * 5 AS det_like_bin, count(*) AS n, avg(flux_05_2) AS mean_flux FROM erass_synthetic GROUP BY 1 ORDER BY 1"
export API="http://127.0.0.1:$app_port" TOKEN="$token" PGPORT_="$pg_port" POSITIONS="$work/positions.txt" REPEATS="$repeats" AGG_SQL="$agg_sql" OUT="$work"
/usr/bin/python3 - <<'PY'
import json, os, time
import psycopg2, requests

api, token, out = os.environ["API"], os.environ["TOKEN"], os.environ["OUT"]
http = requests.Session()
http.headers.update({"X-Auth-Token": token})
pg = psycopg2.connect(host="127.0.0.1", port=int(os.environ["PGPORT_"]), user="postgres", dbname="bench")
pg.autocommit = True
cur = pg.cursor()

def via_api(context, sql):
    t = time.perf_counter()
    r = http.post(f"{api}/api/casjobs/contexts/{context}/query", json={"query": sql}, timeout=1800)
    ms = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{context}: {r.status_code} {r.text[:500]}\n{sql}")
    return ms, r.json()["resultSets"][0]["rows"]

def direct(sql):
    t = time.perf_counter()
    cur.execute(sql)
    rows = cur.fetchall()
    return (time.perf_counter() - t) * 1000, rows

cone = "SELECT id, ra, dec, angdist_arcsec(ra, dec, {ra}, {dec}) AS d FROM erass_synthetic WHERE cone(ra, dec, {ra}, {dec}, 1 / 60.0)"
q3c = "SELECT id, ra, dec, q3c_dist(ra, dec, {ra}, {dec}) * 3600 AS d FROM cat.erass_synthetic WHERE q3c_radial_query(ra, dec, {ra}, {dec}, 1 / 60.0)"
pos = [l.split() for l in open(os.environ["POSITIONS"]) if l.strip()]
res = {k: [] for k in ("duck", "pgapi", "q3c", "one_duck", "one_pgapi", "one_direct")}
res.update(found=0, mismatch=0)
cur.execute("SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'q3c')")
res["pg_version"] = " ".join(cur.fetchone())
for rnd in range(2):  # pass 0 warms every variant up (workers, pools, caches) and is not counted
    for ra, dec in pos:
        a, ra_ = via_api("Demo", cone.format(ra=ra, dec=dec))
        b, rb = via_api("PgBench", cone.format(ra=ra, dec=dec))
        c, rc = direct(q3c.format(ra=ra, dec=dec))
        # For scale, at the same moment: the fixed cost of one query.
        o = (via_api("Demo", "SELECT 1")[0], via_api("PgBench", "SELECT 1")[0], direct("SELECT 1")[0])
        if rnd == 1:
            for key, v in zip(("duck", "pgapi", "q3c", "one_duck", "one_pgapi", "one_direct"), (a, b, c) + o):
                res[key].append(v)
            res["found"] += len(rc)
            ids = lambda rows: sorted(r[0] for r in rows)
            if not (ids(ra_) == ids(rb) == ids(rc)):
                res["mismatch"] += 1

# Crossmatch, three rounds (the order turns each round, so no variant always runs first).
xm = {"xm_duck": lambda: via_api("Demo", "SELECT count(*) AS pairs FROM xmatch('mydb.probes', 'erass_synthetic', 1)"),
      "xm_q3c": lambda: direct("SELECT count(*) FROM cat.probes p, cat.erass_synthetic s WHERE q3c_join(p.ra, p.dec, s.ra, s.dec, 1 / 3600.0)"),
      "xm_pgapi": lambda: via_api("PgBench", "SELECT count(*) AS pairs FROM probes p JOIN erass_synthetic s ON xmatch(p.ra, p.dec, s.ra, s.dec, 1)")}
order = list(xm)
for rnd in range(3):
    for key in order[rnd:] + order[:rnd]:
        ms, rows = xm[key]()
        res.setdefault(key, []).append(ms)
        res[key + "_pairs"] = rows[0][0]
cur.execute("EXPLAIN SELECT count(*) FROM cat.probes p, cat.erass_synthetic s WHERE q3c_join(p.ra, p.dec, s.ra, s.dec, 1 / 3600.0)")
res["xm_q3c_plan"] = [r[0] for r in cur.fetchall()]

# The full-scan aggregate, after one warm-up run each.
agg, n = os.environ["AGG_SQL"], int(os.environ["REPEATS"])
for key, run in (("agg_duck", lambda: via_api("Demo", agg)), ("agg_pgapi", lambda: via_api("PgBench", agg)),
                 ("agg_pg", lambda: direct(agg.replace("FROM erass_synthetic", "FROM cat.erass_synthetic")))):
    first = run()[1]
    res[key] = [run()[0] for _ in range(n)]
    res[key + "_rows"] = [[float(v) for v in r] for r in first]
cur.execute("EXPLAIN " + agg.replace("FROM erass_synthetic", "FROM cat.erass_synthetic"))
res["agg_pg_plan"] = [r[0] for r in cur.fetchall()]
# PostgreSQL cannot estimate how many groups an expression makes (it assumes one per row) and so sorts all rows;
# with statistics on the expression it knows there are a few dozen and may hash them instead (see its plan in the output).
cur.execute("CREATE STATISTICS cat.erass_det_like_bin ON (floor(det_like / 5) * 5) FROM cat.erass_synthetic")
cur.execute("ANALYZE cat.erass_synthetic")
run = lambda: direct(agg.replace("FROM erass_synthetic", "FROM cat.erass_synthetic"))
run()
res["agg_pg_stats"] = [run()[0] for _ in range(n)]
cur.execute("EXPLAIN " + agg.replace("FROM erass_synthetic", "FROM cat.erass_synthetic"))
res["agg_pg_stats_plan"] = [r[0] for r in cur.fetchall()]
json.dump(res, open(f"{out}/results.json", "w"))
PY
log "measured through the API and PostgreSQL"
stop_app
agg_ref=$(time_sql "$repeats" "$agg_sql")
# The engine alone: the same cones in-process on the same file, translated as the platform does (bench/sky.sh's reference).
cone_ref=$(dotnet .build/app/OpenSciServer.dll catalog sky-time "$catalog" "$threads" "$work/positions.txt" "1 / 60.0" \
  "SELECT id, ra, dec, angdist_arcsec(ra, dec, {ra}, {dec}) AS d FROM erass_synthetic WHERE cone(ra, dec, {ra}, {dec}, {r})")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------------------------------------------
export AGG_REF="$agg_ref" CONE_REF="$cone_ref" ROWS="$rows" PROBES="$probes" POS_N="$positions" LOAD_START="$load_start" LOAD_END="$load_end" \
  PG_LOAD="COPY ${t_copy} s, q3c index ${t_index} s, CLUSTER + ANALYZE ${t_cluster} s; $pg_size"
/usr/bin/python3 - <<'PY'
import json, os
res = json.load(open(os.environ["OUT"] + "/results.json"))
def st(v):
    v = sorted(v); n = len(v)
    return v[(n + 1) // 2 - 1], v[max(0, int(n * 0.95 + 0.5) - 1)], v[0]
f = lambda x: f"{x:,.1f}"
rows, probes, npos = int(os.environ["ROWS"]), int(os.environ["PROBES"]), int(os.environ["POS_N"])
print(f"{res['pg_version']} (q3c version last). Load average (1, 5, 15 min): {os.environ['LOAD_START']} at the start, {os.environ['LOAD_END']} at the end. "
      f"PostgreSQL load: {os.environ['PG_LOAD']}.\n")
d, p, q = st(res["duck"]), st(res["pgapi"]), st(res["q3c"])
print(f"| cone r = 1 arcmin, {npos} random positions, {rows:,} rows ({res['found']} sources found; positions where the three answers differ: {res['mismatch']}) | median ms | p95 ms | min ms |")
print("|---|---|---|---|")
print(f"| HTTP API, DuckDB context (Demo) | {f(d[0])} | {f(d[1])} | {f(d[2])} |")
print(f"| HTTP API, PostgreSQL context (PgBench, `cone` → `q3c_radial_query`) | {f(p[0])} | {f(p[1])} | {f(p[2])} |")
print(f"| q3c directly (psycopg2, one warm connection, `q3c_radial_query`) — reference | {f(q[0])} | {f(q[1])} | {f(q[2])} |")
print(f"| **ratio DuckDB-API / q3c** (goal ≤ 1.0) | **{d[0] / q[0]:.2f}** | {d[1] / q[1]:.2f} | |")
print(f"| ratio PostgreSQL-API / q3c | {p[0] / q[0]:.2f} | {p[1] / q[1]:.2f} | |")
cr = st([float(x) for x in os.environ["CONE_REF"].split()])
print(f"| for scale: the same cones in-process on the same DuckDB file (`catalog sky-time`, no HTTP, no worker; after the API runs) | {f(cr[0])} | {f(cr[1])} | {f(cr[2])} |")
print(f"| for scale: ratio DuckDB in-process / q3c directly (the engines alone) | {cr[0] / q[0]:.2f} | {cr[1] / q[1]:.2f} | |")
for key, name in (("one_duck", "`SELECT 1` through the API, DuckDB context"), ("one_pgapi", "`SELECT 1` through the API, PostgreSQL context"), ("one_direct", "`SELECT 1` directly on PostgreSQL")):
    s = st(res[key]); print(f"| for scale: {name} | {f(s[0])} | {f(s[1])} | {f(s[2])} |")
print()
xd, xq, xp = (st(res[k]) for k in ("xm_duck", "xm_q3c", "xm_pgapi"))
runs = lambda k: " / ".join(f(x) for x in res[k])
print(f"| crossmatch {probes:,} probes × {rows:,} rows within 1 arcsec, 3 rounds | median ms | runs ms | pairs |")
print("|---|---|---|---|")
print(f"| DuckDB `xmatch('mydb.probes', 'erass_synthetic', 1)` through the HTTP API | {f(xd[0])} | {runs('xm_duck')} | {res['xm_duck_pairs']:,} |")
print(f"| `q3c_join` directly in PostgreSQL (psycopg2) — reference | {f(xq[0])} | {runs('xm_q3c')} | {res['xm_q3c_pairs']:,} |")
print(f"| PostgreSQL context through the HTTP API, `JOIN ... ON xmatch(...)` (→ `q3c_join`) | {f(xp[0])} | {runs('xm_pgapi')} | {res['xm_pgapi_pairs']:,} |")
print(f"| **ratio DuckDB-API / q3c_join** (goal ≤ 0.3) | **{xd[0] / xq[0]:.2f}** | | pairs equal: {res['xm_duck_pairs'] == res['xm_q3c_pairs'] == res['xm_pgapi_pairs']} |")
print()
ref = [float(x) for x in os.environ["AGG_REF"].split()]
a, pa, pd, r, ps = st(res["agg_duck"]), st(res["agg_pgapi"]), st(res["agg_pg"]), st(ref), st(res["agg_pg_stats"])
print(f"| full-scan aggregate (count, avg flux per det_like bin), {rows:,} rows, {len(ref)} runs after a warm-up | median ms | max ms | min ms |")
print("|---|---|---|---|")
print(f"| HTTP API, DuckDB context | {f(a[0])} | {f(max(res['agg_duck']))} | {f(a[2])} |")
print(f"| same SQL in-process on the same DuckDB file, {2} threads — reference | {f(r[0])} | {f(max(ref))} | {f(r[2])} |")
print(f"| PostgreSQL directly (psycopg2) — reference | {f(pd[0])} | {f(max(res['agg_pg']))} | {f(pd[2])} |")
print(f"| PostgreSQL directly, with statistics on the bin expression (plan below) — reference | {f(ps[0])} | {f(max(res['agg_pg_stats']))} | {f(ps[2])} |")
print(f"| HTTP API, PostgreSQL context (default plan) | {f(pa[0])} | {f(max(res['agg_pgapi']))} | {f(pa[2])} |")
print(f"| **ratio DuckDB-API / in-process** (goal ≤ 1.3) | **{a[0] / r[0]:.2f}** | | |")
print(f"| **speed-up DuckDB-API over PostgreSQL directly, default plan** (goal ≥ 8) | **{pd[0] / a[0]:.1f} ×** | | |")
print(f"| **speed-up DuckDB-API over PostgreSQL directly, with expression statistics** (goal ≥ 8) | **{ps[0] / a[0]:.1f} ×** | | |")
same = all(abs(x[1] - y[1]) == 0 and abs(x[2] - y[2]) <= 1e-9 * abs(y[2]) for x, y in zip(res["agg_duck_rows"], res["agg_pg_rows"])) and len(res["agg_duck_rows"]) == len(res["agg_pg_rows"])
print(f"\nAggregate answers equal in DuckDB and PostgreSQL (counts exact, means to 1e-9): {same}; {len(res['agg_duck_rows'])} bins.")
print("\nPostgreSQL plans:\n```\n" + "\n".join(res["xm_q3c_plan"]) + "\n\n" + "\n".join(res["agg_pg_plan"]) + "\n\nwith statistics on the expression:\n" + "\n".join(res["agg_pg_stats_plan"]) + "\n```")
PY
