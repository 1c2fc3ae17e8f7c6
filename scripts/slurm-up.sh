#!/usr/bin/env bash
# A single-node Slurm cluster from Debian's packages (slurm-wlm + munge), for the tests of
# `run --executor slurm` (test/slurm). Run as root; .ci/run calls it. Accounting is off,
# as on many small clusters (sacct answers "accounting storage is disabled").
# Does nothing when a cluster already answers. Jobs without --mem get DefMemPerCPU, so
# several stages run side by side (without it each job would take the whole node's memory).
set -eu
if sinfo >/dev/null 2>&1; then
  echo "slurm-up: a cluster already answers"
  exit 0
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
mkdir -p /etc/slurm /var/spool/slurmd /var/spool/slurmctld /var/log/slurm /run/munge
chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
H=$(hostname -s)
MEM=$(($(free -m | awk '/Mem:/{print $2}') - 1024))
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$H
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName=$H CPUs=$(nproc) RealMemory=$MEM State=UNKNOWN
PartitionName=main Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 1 30); do
  if sinfo --noheader --format=%t 2>/dev/null | grep -Eq "^(idle|mix|alloc)"; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "slurm-up: the cluster did not come up; see /var/log/slurm/" >&2
exit 1
