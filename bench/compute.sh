#!/usr/bin/env bash
# Interactive sessions benchmark (PERFORMANCE.md, "Sessions"):
#  1. session create → Jupyter's first 200 through the platform's proxy, against a bare
#     `/usr/bin/python3 -I -m notebook` (the image's own command) started on the same machine → its
#     first 200 on /api/status; starts alternate between the two so load on the machine hits both alike;
#  2. WebSocket round trip of a kernel message (execute_request of `pass` → execute_reply) through the
#     proxy against the same kernel of the same session's Jupyter reached directly (its address and token
#     are read from the platform's database, which only root can read).
# Usage: sudo bench/compute.sh [domain] [starts] [messages]   (defaults: Local, 5, 300; "Slurm" starts a private cluster)
# The domain must be usable by every user (group public); on Slurm, starts include the queue wait.
# Prints a Markdown table; paste it into bench/BENCHMARKS.md with the date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_run_prerequisites
ensure_packages curl bubblewrap jupyter-notebook python3-notebook python3-ipykernel python3-terminado python3-tornado

domain=${1:-Local}
starts=${2:-5}
messages=${3:-300}
[ "$(id -u)" = 0 ] || { echo "run as root: sessions run as their users' own uids" >&2; exit 1; }

app_port=5395; nginx_port=5396
source bench/lib.sh
# "Slurm": a private one-node cluster for this run (bench/lib.sh) and a domain on it.
slurm_run=no
if [ "$domain" = Slurm ]; then
  slurm_run=yes
  trap 'stop_slurm_cluster; cleanup' EXIT
  start_slurm_cluster
fi
start_platform
admin=$(login admin bench-admin-password)
[ -n "$admin" ] || { echo "admin login failed" >&2; exit 1; }
if [ "$slurm_run" = yes ]; then
  domain=BenchSlurm
  slurm_domain "$admin" "$domain" debug
fi
curl -sf -o /dev/null -H "X-Auth-Token: $admin" -H 'Content-Type: application/json' \
  -d '{"username":"bencher","email":"bencher@example.org","password":"bench-user-password"}' \
  "http://127.0.0.1:$app_port/api/admin/users"
token=$(login bencher bench-user-password)
[ -n "$token" ] || { echo "user login failed" >&2; exit 1; }
# Sessions outlive the platform on purpose: delete the benchmark's own, whatever happens.
delete_sessions() {
  curl -s -H "X-Auth-Token: $token" "http://127.0.0.1:$app_port/api/compute/sessions" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 |
    while read -r id; do curl -s -o /dev/null -X DELETE -H "X-Auth-Token: $token" "http://127.0.0.1:$app_port/api/compute/sessions/$id"; done
}
trap 'delete_sessions || true; if [ "$slurm_run" = yes ]; then stop_slurm_cluster; fi; cleanup' EXIT

BASE="http://127.0.0.1:$app_port" TOKEN="$token" DOMAIN="$domain" STARTS="$starts" MESSAGES="$messages" \
  DB="$work/data/platform.db" SCRATCH="$work" /usr/bin/python3 - <<'PY'
import asyncio, json, os, signal, socket, sqlite3, subprocess, sys, tempfile, time, urllib.error, urllib.request, uuid
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

base, token, domain = os.environ["BASE"], os.environ["TOKEN"], os.environ["DOMAIN"]
starts, messages = int(os.environ["STARTS"]), int(os.environ["MESSAGES"])
image = "Python 3 (astro)"
auth = {"X-Auth-Token": token}

def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={**(headers or {}), **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")

def wait_200(url, headers, deadline_s, failed=None):
    """Polls url every 20 ms until it answers 200; returns the time it did."""
    end = time.monotonic() + deadline_s
    last_check = 0.0
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
                if r.status == 200:
                    return time.perf_counter()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if failed and time.monotonic() - last_check > 1:
            last_check = time.monotonic()
            failed()
        time.sleep(0.02)
    sys.exit(f"no 200 from {url} within {deadline_s} s")

def session_start(i, keep):
    t0 = time.perf_counter()
    status, s = http("POST", f"{base}/api/compute/sessions", {
        "name": f"bench-{i}", "domain": domain, "image": image, "dataVolumes": [],
        "userVolumes": [{"rootVolume": "Storage", "owner": "bencher", "name": "persistent", "writable": True}]}, auth)
    if status != 201:
        sys.exit(f"create: {status} {s}")
    def failed():
        _, now = http("GET", f"{base}/api/compute/sessions/{s['id']}", headers=auth)
        if now["status"] in ("Failed", "Stopped"):
            sys.exit(f"the session {now['status']}: {now.get('statusReason')}")
    t1 = wait_200(f"{base}/compute/sessions/{s['id']}/api/status", auth, 600, failed)
    if not keep:
        http("DELETE", f"{base}/api/compute/sessions/{s['id']}", headers=auth)
    return (t1 - t0) * 1000, s["id"]

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

def bare_start():
    folder = tempfile.mkdtemp(dir=os.environ["SCRATCH"])
    port, secret = free_port(), uuid.uuid4().hex
    env = {"PATH": "/usr/bin:/bin", "HOME": folder, "JUPYTER_CONFIG_DIR": f"{folder}/config", "JUPYTER_RUNTIME_DIR": f"{folder}/runtime",
           "JUPYTER_DATA_DIR": f"{folder}/data", "IPYTHONDIR": f"{folder}/ipython"}
    t0 = time.perf_counter()
    process = subprocess.Popen(["/usr/bin/python3", "-I", "-m", "notebook", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
                                "--allow-root", f"--NotebookApp.token={secret}", f"--NotebookApp.notebook_dir={folder}"],
                               cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        t1 = wait_200(f"http://127.0.0.1:{port}/api/status", {"Authorization": f"token {secret}"}, 120)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    return (t1 - t0) * 1000

def stats(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2], v[min(len(v) - 1, int(round(len(v) * 0.95)) - 1)], v[0]

async def round_trips(url, headers, n):
    ws = await websocket_connect(HTTPRequest(url, headers=headers))
    session, times = uuid.uuid4().hex, []
    for i in range(n + 10):  # the first 10 warm the path up
        msg_id = uuid.uuid4().hex
        message = {"header": {"msg_id": msg_id, "username": "bench", "session": session, "msg_type": "execute_request", "version": "5.3", "date": ""},
                   "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                   "content": {"code": "pass", "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}
        t0 = time.perf_counter()
        await ws.write_message(json.dumps(message))
        while True:
            reply = json.loads(await ws.read_message())
            if reply.get("parent_header", {}).get("msg_id") == msg_id and reply["msg_type"] == "execute_reply":
                break
        if i >= 10:
            times.append((time.perf_counter() - t0) * 1000)
    ws.close()
    return times

session_ms, bare_ms, kept = [], [], None
bare_start()  # warms the disk cache for both sides
for i in range(starts):
    bare_ms.append(bare_start())
    ms, sid = session_start(i, keep=(i == starts - 1))
    session_ms.append(ms)
    kept = sid

status, kernel = http("POST", f"{base}/compute/sessions/{kept}/api/kernels", {"name": "python3"}, auth)
if status not in (200, 201):
    sys.exit(f"kernel: {status} {kernel}")
with sqlite3.connect(f"file:{os.environ['DB']}?mode=ro", uri=True) as db:
    host, port, secret = db.execute("SELECT UpstreamHost, UpstreamPort, JupyterToken FROM compute_sessions WHERE Name = ? AND OwnerName = 'bencher'",
                                    (f"bench-{starts - 1}",)).fetchone()
path = f"/compute/sessions/{kept}/api/kernels/{kernel['id']}/channels"
proxy_url = base.replace("http://", "ws://") + path
direct_url = f"ws://{host}:{port}{path}"
proxied, direct = [], []
for _ in range(2):  # alternate, so drift in the machine's load hits both
    proxied += asyncio.run(round_trips(proxy_url, auth, messages // 2))
    direct += asyncio.run(round_trips(direct_url, {"Authorization": f"token {secret}"}, messages // 2))
http("DELETE", f"{base}/api/compute/sessions/{kept}", headers=auth)

s_med, s_p95, s_min = stats(session_ms)
b_med, b_p95, b_min = stats(bare_ms)
p_med, p_p95, p_min = stats(proxied)
d_med, d_p95, d_min = stats(direct)
print(f"| what (domain {domain}; {starts} starts, {len(proxied)} messages each way) | median ms | p95 ms | min ms |")
print("|---|---|---|---|")
print(f"| session create → first 200 through the proxy | {s_med:.0f} | {s_p95:.0f} | {s_min:.0f} |")
print(f"| bare `python3 -I -m notebook` → first 200 (reference) | {b_med:.0f} | {b_p95:.0f} | {b_min:.0f} |")
print(f"| **ratio session / bare (goal ≤ 1.5)** | **{s_med / b_med:.2f}** | | |")
print(f"| kernel round trip through the proxy (WebSocket) | {p_med:.2f} | {p_p95:.2f} | {p_min:.2f} |")
print(f"| same kernel, direct to Jupyter (reference) | {d_med:.2f} | {d_p95:.2f} | {d_min:.2f} |")
print(f"| ratio proxy / direct | {p_med / d_med:.2f} | | |")
PY
