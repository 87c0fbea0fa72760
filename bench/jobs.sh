#!/usr/bin/env bash
# Compute jobs benchmark (PERFORMANCE.md, "Jobs"):
#  1. submit → running of a trivial command job (`date +%s.%N`) on the local backend and on Slurm,
#     against the references measured in the same run: a bare fork/exec of the same command (local) and a
#     bare `sbatch` of an equivalent script to the same partition of the same slurmctld (Slurm). Two
#     figures per platform job: the platform's own STARTED time (StartedAt - SubmittedAt, from its
#     database) and, client-side, POST → the moment the command itself runs (its own clock; it is the same
#     machine). Platform jobs and references alternate, so drift in the machine's load hits both alike.
#  2. API submit throughput with many jobs that stay queued: jobs for a domain whose Slurm partition is
#     down (the platform's per-user limit lets 2 reach Slurm, where they wait with PartitionDown; the rest
#     wait PENDING in the platform's queue), POSTed by 8 concurrent clients; then the job list with all of
#     them. Reference: bare sequential `sbatch` to the same down partition.
# The Slurm cluster is private to the run, like the tests' fixture: its own slurm.conf, free ports, state
# and spool in the scratch folder, slurmctld and slurmd started here and killed at the end (munged is
# started if it does not run).
# Usage: sudo bench/jobs.sh [runs] [queued]   (defaults: 20, 1000)
# Prints Markdown tables; paste them into bench/BENCHMARKS.md with the date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages curl bubblewrap slurmctld slurmd slurm-client munge

runs=${1:-20}
queued=${2:-1000}
[ "$(id -u)" = 0 ] || { echo "run as root: jobs run as their users' own uids, and the Slurm daemons as root" >&2; exit 1; }

app_port=5397; nginx_port=5398
source bench/lib.sh

# --- a private one-node Slurm cluster (bench/lib.sh) ----------------------------------------------
trap 'stop_slurm_cluster; cleanup' EXIT
start_slurm_cluster

# --- the platform, pointed at that cluster --------------------------------------------------------
start_platform
admin=$(login admin bench-admin-password)
[ -n "$admin" ] || { echo "admin login failed" >&2; exit 1; }
api() { curl -sf -H "X-Auth-Token: $admin" -H 'Content-Type: application/json' "$@"; }
api -o /dev/null -d '{"username":"bencher","email":"bencher@example.org","password":"bench-user-password"}' "http://127.0.0.1:$app_port/api/admin/users"
slurm_domain "$admin" BenchCluster debug
slurm_domain "$admin" BenchClosed closed
token=$(login bencher bench-user-password)
[ -n "$token" ] || { echo "user login failed" >&2; exit 1; }

SLURM_CONF="$SLURM_CONF" BASE="http://127.0.0.1:$app_port" TOKEN="$token" RUNS="$runs" QUEUED="$queued" DB="$work/data/platform.db" SCRATCH="$work" \
  /usr/bin/python3 - <<'PY'
import concurrent.futures, json, os, sqlite3, subprocess, sys, tempfile, time, urllib.error, urllib.request

base, token = os.environ["BASE"], os.environ["TOKEN"]
runs, queued = int(os.environ["RUNS"]), int(os.environ["QUEUED"])
auth = {"X-Auth-Token": token}
image = "Python 3 (astro)"

def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={**auth, **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")

def server_seconds(value):
    # EF's DateTimeOffsetToBinaryConverter: (ticks / 1000) << 11 | offset minutes; 1 unit = 100 µs.
    return (value >> 11) * 1e-4

def platform_job(domain):
    t0 = time.time()
    status, job = http("POST", f"{base}/api/jobs", {"kind": "command", "command": "date +%s.%N", "domain": domain, "image": image,
                                                   "dataVolumes": [], "userVolumes": []})
    if status != 201:
        sys.exit(f"submit: {status} {job}")
    while True:
        _, details = http("GET", f"{base}/api/jobs/{job['id']}")
        if details["job"]["final"]:
            break
        time.sleep(0.05)
    if details["job"]["status"] != "Success":
        sys.exit(f"job {job['id']} ended {details['job']['status']}: {details['job']['messages']}")
    ran = float(details["stdout"]["text"].strip())
    with sqlite3.connect(f"file:{os.environ['DB']}?mode=ro", uri=True) as db:
        submitted, started = db.execute("SELECT SubmittedAt, StartedAt FROM compute_jobs WHERE Id = ?", (job["id"],)).fetchone()
    return (server_seconds(started) - server_seconds(submitted)) * 1000, (ran - t0) * 1000

def bare_exec():
    t0 = time.time()
    out = subprocess.run(["/usr/bin/date", "+%s.%N"], capture_output=True, text=True, check=True).stdout
    return (float(out) - t0) * 1000

script = os.path.join(os.environ["SCRATCH"], "bare.sh")
with open(script, "w") as f:
    f.write("#!/bin/sh\ndate +%s.%N > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n")
os.chmod(script, 0o755)

def sbatch(partition, out):
    return subprocess.run(["sbatch", "--parsable", "--job-name=bare", "--nodes=1", "--ntasks=1", "--no-requeue", f"--partition={partition}",
                           "--cpus-per-task=1", "--mem=1024M", "--time=0-00:01:00", f"--chdir={os.environ['SCRATCH']}", "--output=/dev/null",
                           script, out], capture_output=True, text=True, check=True).stdout.strip()

def bare_sbatch():
    out = tempfile.mktemp(dir=os.environ["SCRATCH"])
    t0 = time.time()
    sbatch("debug", out)
    while not os.path.exists(out):
        time.sleep(0.005)
    with open(out) as f:
        return (float(f.read()) - t0) * 1000

def stats(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2], v[min(len(v) - 1, int(round(len(v) * 0.95)) - 1)], v[0]

rows = []
for domain, reference, label in (("Local", bare_exec, "bare fork/exec of `date`"), ("BenchCluster", bare_sbatch, "bare `sbatch` of the same command, same partition")):
    platform_job(domain); reference()  # warm-up, unmeasured
    started, ran, bare = [], [], []
    for _ in range(runs):
        s, r = platform_job(domain)
        started.append(s); ran.append(r)
        bare.append(reference())
    rows.append((domain, label, stats(started), stats(ran), stats(bare)))

print(f"| what ({runs} runs each, alternating) | median ms | p95 ms | min ms |")
print("|---|---|---|---|")
for domain, label, started, ran, bare in rows:
    backend = "local" if domain == "Local" else "Slurm"
    print(f"| {backend}: submit → STARTED (platform's StartedAt − SubmittedAt) | {started[0]:.0f} | {started[1]:.0f} | {started[2]:.0f} |")
    print(f"| {backend}: POST → the command runs (its own clock) | {ran[0]:.0f} | {ran[1]:.0f} | {ran[2]:.0f} |")
    print(f"| {backend} reference: {label} → it runs | {bare[0]:.0f} | {bare[1]:.0f} | {bare[2]:.0f} |")
    print(f"| **{backend}: ratio platform / reference (command runs)** | **{ran[0] / bare[0]:.2f}** | | |")

# --- throughput with jobs that stay queued ---
def submit(_):
    t0 = time.perf_counter()
    status, job = http("POST", f"{base}/api/jobs", {"kind": "command", "command": "echo never", "domain": "BenchClosed", "image": image,
                                                   "dataVolumes": [], "userVolumes": []})
    if status != 201:
        raise SystemExit(f"submit: {status} {job}")
    return (time.perf_counter() - t0) * 1000

t0 = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    latencies = list(pool.map(submit, range(queued)))
elapsed = time.perf_counter() - t0
_, listed = http("GET", f"{base}/api/jobs?top={queued + 100}")
waiting = sum(1 for j in listed if j["status"] in ("Pending", "Queued", "Accepted", "Started"))
list_ms = []
for _ in range(10):
    t = time.perf_counter()
    http("GET", f"{base}/api/jobs?top={queued + 100}")
    list_ms.append((time.perf_counter() - t) * 1000)
bare_n = min(200, queued)
t = time.perf_counter()
for _ in range(bare_n):
    sbatch("closed", "/dev/null")
bare_rate = bare_n / (time.perf_counter() - t)
lm, lp, _ = stats(latencies)
km, kp, _ = stats(list_ms)
print()
print(f"| what ({queued} jobs to a down partition, 8 concurrent clients) | value |")
print("|---|---|")
print(f"| API submit throughput | {queued / elapsed:.0f} jobs/s |")
print(f"| submit latency median / p95 | {lm:.0f} / {lp:.0f} ms |")
print(f"| reference: bare sequential `sbatch` to the same partition ({bare_n}) | {bare_rate:.0f} jobs/s |")
print(f"| jobs still waiting afterwards (none lost, none started) | {waiting} of {queued} |")
print(f"| `GET /api/jobs?top={queued + 100}` with them, median / p95 | {km:.0f} / {kp:.0f} ms |")
PY
