#!/bin/sh
# .ci/slurm-up.sh: a real single-node Slurm cluster from Debian's packages
# (slurm-wlm, munge), daemons as root; `.ci/slurm-up.sh stop` stops what it
# started (the pids it wrote into $PARLEY_SLURM_STATE). Used by .ci/slurm.sh.
set -eu
state=${PARLEY_SLURM_STATE:-/tmp/parley-slurm}
if [ "${1:-}" = stop ]; then
    for p in slurmd slurmctld munged; do
        [ -f "$state/$p.pid" ] || continue
        pid=$(cat "$state/$p.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        rm -f "$state/$p.pid"
    done
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "slurm-up: the daemons run as root" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
mkdir -p "$state/spool/ctld" "$state/spool/d" /etc/slurm /run/munge /var/log/munge /var/lib/munge
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat > /etc/slurm/slurm.conf <<CONF
# written by parley's .ci/slurm-up.sh: one node, this machine
ClusterName=parley
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ReturnToService=2
MpiDefault=none
KillWait=5
MinJobAge=3600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
if [ ! -f "$state/munged.pid" ] || ! kill -0 "$(cat "$state/munged.pid")" 2>/dev/null; then
    munged --force --pid-file="$state/munged.pid.tmp"
    i=0
    while [ ! -s "$state/munged.pid.tmp" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    cp "$state/munged.pid.tmp" "$state/munged.pid"
fi
slurmctld
slurmd
i=0
until timeout 5 srun -N1 -t 1 hostname >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 30 ] || { echo "slurm-up: srun hostname did not answer" >&2; tail "$state"/*.log >&2; exit 1; }
    sleep 1
done
echo "slurm-up: srun hostname answers ($(srun -N1 hostname)); $cpus CPUs"
