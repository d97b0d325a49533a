#!/usr/bin/env bash
# A one-node SLURM cluster on localhost from Debian's packages (munge, slurmctld, slurmd,
# slurm-client), for CI and for trying the exported pipelines' slurm profile:
#   scripts/slurm-cluster.sh start     # idempotent; prints `export SLURM_CONF=...` for the caller to eval
#   scripts/slurm-cluster.sh status    # sinfo and the finished-job log
#   scripts/slurm-cluster.sh stop      # stops the daemons this script started and removes the folder
# Everything (munge key and socket, slurm.conf, state, spool, logs) lives in one folder, $SLURM_DIR
# (default /tmp/ssmtk-slurm), so the system's /etc/munge and /etc/slurm are neither read nor changed,
# and the ports (default 16817/16818) stay clear of a real cluster's. Needs root: slurmd runs jobs as
# the submitting user, and only root may start it so. There is no slurmdbd (it needs a MariaDB server),
# so accounting is off (sacct cannot list jobs); finished jobs are written one line each by
# JobCompType=jobcomp/filetxt to $SLURM_DIR/jobcomp.log instead, which is what CI checks.
set -euo pipefail
dir=${SLURM_DIR:-/tmp/ssmtk-slurm}
ctl_port=${SLURM_CTL_PORT:-16817}
node_port=${SLURM_NODE_PORT:-16818}
conf=$dir/slurm.conf
node=$(hostname -s)

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  for cmd in munged mungekey slurmctld slurmd sbatch sinfo; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "slurm-cluster: $cmd not found (apt-get install munge slurmctld slurmd slurm-client)" >&2; exit 1; }
  done
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chmod 700 "$dir/munge"
  [ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  if ! running "$dir/munge/munged.pid"; then
    # --force: munged refuses a key or socket folder it does not consider private enough when run as root
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
           --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  fi
  # Memory the node offers: 3/4 of the machine's, so slurmd never finds less than configured (which drains the node).
  mem=$(awk '/^MemTotal/ { printf "%d", $2 / 1024 * 3 / 4 }' /proc/meminfo)
  cpus=${SLURM_CPUS:-2}
  cat > "$conf.tmp" <<EOF
# written by scripts/slurm-cluster.sh: one node, localhost
ClusterName=ssmtk-ci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$node_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# no cgroups in a container: processes are tracked through /proc, tasks are not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  if [ -f "$conf" ] && cmp -s "$conf" "$conf.tmp"; then rm "$conf.tmp"; else mv "$conf.tmp" "$conf"; fi
  export SLURM_CONF=$conf
  running "$dir/slurmctld.pid" || slurmctld -f "$conf"
  running "$dir/slurmd.pid" || slurmd -f "$conf" -N "$node"
  # Ready when the node takes jobs (idle or mixed); a drained node from an earlier run is resumed.
  for _ in $(seq 1 60); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
    case "$state" in
      idle|mix|alloc) echo "export SLURM_CONF=$conf"; return 0 ;;
      drain*|down*) scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  echo "slurm-cluster: node $node not ready after 60 s (state '${state:-none}'); see $dir/slurmctld.log and $dir/slurmd.log" >&2
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if running "$pidfile"; then
      pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) SLURM_CONF=$conf sinfo -N -l; cat "$dir/jobcomp.log" 2>/dev/null || true ;;
  *) echo "usage: $0 start|status|stop (folder: \$SLURM_DIR, default /tmp/ssmtk-slurm)" >&2; exit 1 ;;
esac
