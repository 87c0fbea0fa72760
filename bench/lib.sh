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

# A private one-node Slurm cluster for a benchmark run, like the tests' fixture: its own slurm.conf, free
# ports, state and spool in the scratch folder; slurmctld and slurmd started here. Callers add
# stop_slurm_cluster to their EXIT trap. Partitions: debug (up) and closed (down). Sets SLURM_CONF and
# exports Compute__Slurm__ConfigPath for the platform started after it.
start_slurm_cluster() {
  slurm="$work/slurm"
  mkdir -p "$slurm/state" "$slurm/spool" "$slurm/log"
  free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  node=$(cat /proc/sys/kernel/hostname)
  cpus=$(nproc)
  memory=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat >"$slurm/slurm.conf" <<CONF
ClusterName=ossbench
SlurmctldHost=$node
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$slurm/state
SlurmdSpoolDir=$slurm/spool
SlurmctldPidFile=$slurm/slurmctld.pid
SlurmdPidFile=$slurm/slurmd.pid
SlurmctldLogFile=$slurm/log/slurmctld.log
SlurmdLogFile=$slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
KillWait=2
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES State=UP MaxTime=INFINITE
PartitionName=closed Nodes=ALL State=DOWN MaxTime=INFINITE
CONF
  # Only Slurm's commands get SLURM_CONF (the platform is told through Compute:Slurm:ConfigPath).
  SLURM_CONF="$slurm/slurm.conf"

  stop_slurm_cluster() {
    for f in slurmd.pid slurmctld.pid; do [ -f "$slurm/$f" ] && kill -9 "$(cat "$slurm/$f")" 2>/dev/null || true; done
    # Whatever is left of the cluster's jobs: every process started with this SLURM_CONF.
    for p in /proc/[0-9]*; do
      if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF"; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
    done
  }

  if ! (munge -n | unmunge >/dev/null) 2>/dev/null; then
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge/munge.key
    su -s /bin/sh munge -c /usr/sbin/munged
    for _ in $(seq 1 50); do (munge -n | unmunge >/dev/null) 2>/dev/null && break; sleep 0.1; done
  fi
  SLURM_CONF="$SLURM_CONF" /usr/sbin/slurmctld
  SLURM_CONF="$SLURM_CONF" /usr/sbin/slurmd
  for i in $(seq 1 150); do
    [ "$(SLURM_CONF="$SLURM_CONF" sinfo --noheader --partition=debug --format=%T 2>/dev/null)" = idle ] && break
    [ "$i" = 150 ] && { echo "the bench cluster's node did not become idle; see $slurm/log" >&2; exit 1; }
    sleep 0.1
  done
  export Compute__Slurm__ConfigPath="$SLURM_CONF"
}

# A Slurm compute domain usable by everyone (group public): slurm_domain ADMIN_TOKEN NAME PARTITION
slurm_domain() {
  local admin=$1 name=$2 partition=$3 rid
  curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $admin" -H 'Content-Type: application/json' \
    -d "{\"backend\":\"Slurm\",\"partition\":\"$partition\",\"memoryBytes\":1073741824,\"cpus\":1,\"maxProcesses\":256,\"maxSessionsPerUser\":3,\"idleTimeout\":\"01:00:00\",\"lifetime\":\"01:00:00\",\"maxLifetime\":\"02:00:00\"}" \
    "http://127.0.0.1:$app_port/api/admin/compute/domains/$name"
  # The resource's id is read from the platform's database (root only).
  rid=$(/usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT Id FROM resources WHERE Type = ? AND Name = ?", ("compute-domain", sys.argv[2])).fetchone()[0].lower())' \
    "$work/data/platform.db" "$name")
  curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $admin" -H 'Content-Type: application/json' \
    -d '{"type":"group","name":"public","actions":["use"]}' "http://127.0.0.1:$app_port/api/resources/$rid/privileges"
}
