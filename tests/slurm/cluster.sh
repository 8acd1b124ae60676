#!/usr/bin/env bash
# A real single-node SLURM cluster on loopback, for the SLURM tests (tests/test_slurm.py) and for trying
# `snakemake --executor slurm` by hand. It installs nothing: the Debian packages are listed in envs/apt-test.txt
# (slurm-wlm, munge). It must run as root (slurmd launches jobs as their owner).
#
#   tests/slurm/cluster.sh start    # write configs, start munged + slurmctld + slurmd, wait until idle
#   tests/slurm/cluster.sh stop     # stop the three daemons this script started (by their pid files)
#   tests/slurm/cluster.sh status   # exit 0 when the node answers and is usable
#
# Layout (facts measured on Debian 12 / slurm-wlm 22.05):
#   - slurm.conf lives at /etc/slurm/slurm.conf: the slurm executor plugin strips SLURM_CONF inside a job,
#     so the in-job `srun` only finds the default path.
#   - no cgroups (ProctrackType=proctrack/pgid, TaskPlugin=task/none); CPUs=8 with
#     SlurmdParameters=config_overrides lets jobs overlap on 2 real cores.
#   - partitions `cpu` (default) and `gpu`; two schedulable fake GPUs (gres File=/dev/null,/dev/zero).
#   - no accounting database: MinJobAge=600 keeps finished jobs visible to squeue/scontrol for 10 min (the
#     plugin's --slurm-status-command squeue), and JobCompType=jobcomp/filetxt writes one line per finished job
#     to $STATE/jobcomp.log (partition, state, TRES) as a durable record.
# State (logs, spool, pid files, jobcomp.log) goes to $INFSCALE_SLURM_STATE (default /tmp/infscale-slurm).
set -euo pipefail

STATE=${INFSCALE_SLURM_STATE:-/tmp/infscale-slurm}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARK="# infscale test cluster (tests/slurm/cluster.sh)"
NODE=localhost
CPUS=${INFSCALE_SLURM_CPUS:-8}
MEM_MB=${INFSCALE_SLURM_MEM_MB:-16000}
# two schedulable fake GPUs (a gres needs a device file per GPU; nothing opens them)
GPU_FILES=/dev/null,/dev/zero
GPUS=2

die() { echo "cluster.sh: $*" >&2; exit 1; }

need() {
  for bin in munged slurmctld slurmd sinfo sbatch squeue scontrol; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] ||
      die "'$bin' not found: install the Debian packages in envs/apt-test.txt (slurm-wlm munge)"
  done
  [ "$(id -u)" = 0 ] || die "must run as root (slurmd starts jobs as their owner)"
}

write_conf() {
  mkdir -p "$STATE"/{spool/ctld,spool/d,log,run} "$CONF_DIR"
  if [ -f "$CONF" ] && ! head -1 "$CONF" | grep -qF "$MARK"; then
    die "$CONF exists and was not written by this script; refusing to overwrite it"
  fi
  cat > "$CONF.tmp" <<CONF
$MARK
ClusterName=infscale
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
MinJobAge=600
KillWait=5
# how often slurmctld looks for jobs past their time limit (default 30 s)
InactiveLimit=0
OverTimeLimit=0
SchedulerParameters=sched_interval=2
MessageTimeout=20
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPUS State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=500
PartitionName=gpu Nodes=$NODE Default=NO MaxTime=INFINITE State=UP DefMemPerCPU=500
CONF
  mv "$CONF.tmp" "$CONF"
  cat > "$CONF_DIR/gres.conf" <<CONF
$MARK
AutoDetect=off
NodeName=$NODE Name=gpu File=$GPU_FILES Count=$GPUS
CONF
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_ready() {
  local state
  state=$(timeout 5 sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -1) || return 1
  case "$state" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

start() {
  need
  if pid_alive "$STATE/run/slurmctld.pid" && pid_alive "$STATE/run/slurmd.pid" && node_ready; then
    echo "cluster.sh: already running (state in $STATE)"; return 0
  fi
  stop_daemons quiet
  write_conf
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing (the munge package creates it)"
  if ! pid_alive "$STATE/run/munged.pid"; then
    # --force: munged refuses to start as root without it
    /usr/sbin/munged --force --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
      </dev/null >/dev/null 2>&1
  fi
  # -c: start clean (no jobs or nodes left from an earlier session's state); job ids may start over, so the
  # completion log starts over too
  [ -f "$STATE/jobcomp.log" ] && mv -f "$STATE/jobcomp.log" "$STATE/jobcomp.log.old"
  /usr/sbin/slurmctld -c -i </dev/null >/dev/null 2>&1
  /usr/sbin/slurmd -N "$NODE" </dev/null >/dev/null 2>&1
  for _ in $(seq 1 60); do
    if node_ready; then echo "cluster.sh: up ($(sinfo -h -o '%P %D %T' | tr '\n' ' '))"; return 0; fi
    pid_alive "$STATE/run/slurmctld.pid" || { sleep 1; pid_alive "$STATE/run/slurmctld.pid" || break; }
    sleep 0.5
  done
  echo "--- slurmctld.log" >&2; tail -20 "$STATE/log/slurmctld.log" >&2 || true
  echo "--- slurmd.log" >&2; tail -20 "$STATE/log/slurmd.log" >&2 || true
  sinfo -N -l >&2 || true
  die "node did not become idle within 30 s"
}

stop_daemons() {
  local name pidf
  for name in slurmd slurmctld munged; do
    pidf="$STATE/run/$name.pid"
    if pid_alive "$pidf"; then
      kill "$(cat "$pidf")" 2>/dev/null || true
      for _ in $(seq 1 40); do pid_alive "$pidf" || break; sleep 0.25; done
      pid_alive "$pidf" && kill -9 "$(cat "$pidf")" 2>/dev/null || true
    fi
    rm -f "$pidf"
  done
  [ "${1:-}" = quiet ] || echo "cluster.sh: stopped"
}

status() {
  pid_alive "$STATE/run/slurmctld.pid" && pid_alive "$STATE/run/slurmd.pid" && node_ready ||
    { echo "cluster.sh: not running" >&2; return 1; }
  sinfo
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
