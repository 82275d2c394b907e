#!/bin/bash
# Prepares the shard cache disk of a shardline GPU host at boot (launch template user data).
#
# The cache never lives on the root volume, which Docker and the ECS agent need:
#   - the instance's NVMe instance-store volumes, when it has any: all of them striped (mdadm
#     RAID0) when there are several, formatted with XFS;
#   - else the dedicated EBS data volume (block device mapping <data device>), formatted when
#     blank (a reboot keeps its file system);
#   - with neither, nothing is mounted and the host is not marked (below): the agent daemon is
#     placed only on marked hosts, so none runs here.
# The file system is mounted at <mount point> (and in /etc/fstab, nofail), owned by the agent
# image's user, and the host gets the ECS container instance attribute
# shardline.cache-disk=nvme|ebs, which the agent service's placement constraint requires.
# With a spool directory (the checkpoint spool the agent shares with training containers, on the
# same disk), it is created there owned by the agent's user: left to Docker, a host volume's
# missing directory is created owned by root, where the agent could not write.
#
# Usage: prepare-cache-disk.sh <mount point> [data device, default xvdb] [spool directory]
# Tests point SHARDLINE_SYS_ROOT and SHARDLINE_DEV_ROOT at a fake /sys and /dev, the files
# below at scratch copies, and PATH at stub commands (test/infra/host/prepare-cache-disk.test.ts).
set -euo pipefail

MOUNT_POINT="${1:?usage: prepare-cache-disk.sh <mount point> [data device]}"
DATA_DEVICE="${2:-xvdb}"
SPOOL_DIR="${3:-}"
SYS="${SHARDLINE_SYS_ROOT:-}/sys"
DEV="${SHARDLINE_DEV_ROOT:-/dev}"
MOUNTS="${SHARDLINE_PROC_MOUNTS:-/proc/mounts}"
ECS_CONFIG="${SHARDLINE_ECS_CONFIG:-/etc/ecs/ecs.config}"
FSTAB="${SHARDLINE_FSTAB:-/etc/fstab}"
MDADM_CONF="${SHARDLINE_MDADM_CONF:-/etc/mdadm.conf}"
# The agent image runs as `node` (uid and gid 1000, agent-container/Dockerfile).
OWNER="${SHARDLINE_CACHE_OWNER:-1000:1000}"
ATTRIBUTE=shardline.cache-disk
LABEL=slcache # XFS labels hold at most 12 characters
RAID_DEVICE="$DEV/md/shardline-cache"

log() { echo "shardline cache disk: $*" >&2; }

# The checkpoint spool, when asked for: the agent's user owns it, training containers (run as
# that user) write into it.
prepare_spool() {
  [ -n "$SPOOL_DIR" ] || return 0
  mkdir -p "$SPOOL_DIR"
  chown "$OWNER" "$SPOOL_DIR"
  chmod 0755 "$SPOOL_DIR"
}

# The NVMe namespaces whose controller model contains $1 ("Instance Storage" for instance
# store, "Elastic Block Store" for EBS), as device paths.
nvme_devices() {
  local model dev
  for model in "$SYS"/block/nvme*n*/device/model; do
    [ -r "$model" ] || continue
    grep -q "$1" "$model" || continue
    dev="${model%/device/model}"
    echo "$DEV/${dev##*/}"
  done
}

# The EBS data volume: the block device mapping's name (a udev link to the NVMe device on
# Nitro), else the one EBS namespace that is neither partitioned nor mounted (the root volume is
# both).
data_volume() {
  local dev name
  if [ -e "$DEV/$DATA_DEVICE" ]; then
    readlink -f "$DEV/$DATA_DEVICE"
    return 0
  fi
  for dev in $(nvme_devices "Elastic Block Store"); do
    name="${dev##*/}"
    compgen -G "$SYS/block/$name/${name}p*" >/dev/null && continue
    grep -q "^$dev " "$MOUNTS" 2>/dev/null && continue
    echo "$dev"
    return 0
  done
  return 1
}

main() {
  local kind device
  local -a stores
  mkdir -p "$MOUNT_POINT"
  if mountpoint -q "$MOUNT_POINT"; then
    log "$MOUNT_POINT is already a mount point; leaving it as it is"
    prepare_spool
    return 0
  fi

  mapfile -t stores < <(nvme_devices "Instance Storage")
  if [ "${#stores[@]}" -gt 1 ]; then
    kind=nvme
    command -v mdadm >/dev/null || yum install -y -q mdadm
    log "striping ${#stores[@]} instance-store volumes (RAID0): ${stores[*]}"
    mdadm --create "$RAID_DEVICE" --level=0 --raid-devices="${#stores[@]}" --run "${stores[@]}"
    mdadm --detail --scan >>"$MDADM_CONF"
    device="$RAID_DEVICE"
  elif [ "${#stores[@]}" -eq 1 ]; then
    kind=nvme
    device="${stores[0]}"
    log "one instance-store volume: $device"
  elif device="$(data_volume)"; then
    kind=ebs
    log "no instance store; the EBS data volume: $device"
  else
    log "no instance store and no EBS data volume: the cache stays off the root volume and no agent runs on this host"
    return 0
  fi

  # blkid exits 2 when the device holds no file system: format only then.
  if ! blkid "$device" >/dev/null 2>&1; then
    mkfs.xfs -f -L "$LABEL" "$device"
  fi
  mount -o noatime "$device" "$MOUNT_POINT"
  chown "$OWNER" "$MOUNT_POINT"
  chmod 0755 "$MOUNT_POINT"
  grep -q "^LABEL=$LABEL " "$FSTAB" 2>/dev/null || echo "LABEL=$LABEL $MOUNT_POINT xfs defaults,noatime,nofail 0 2" >>"$FSTAB"
  prepare_spool
  echo "ECS_INSTANCE_ATTRIBUTES={\"$ATTRIBUTE\":\"$kind\"}" >>"$ECS_CONFIG"
  log "mounted $device ($kind) at $MOUNT_POINT"
}

main
