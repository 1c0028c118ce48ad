#!/usr/bin/env bash
# CI step: builds (or finds cached) the real Kubernetes test binaries via tools/build-k8s.
# Cold: tens of minutes on 2 cores; warm: well under a second (completion stamp).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/time ]; then
  echo "10-k8s: installing GNU time (build-k8s logs wall time and peak memory with /usr/bin/time -v)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -q time >/dev/null || { $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q time; }
fi

start=$EPOCHREALTIME
bin_dir="$(tools/build-k8s)"
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
echo "10-k8s: binaries in $bin_dir (this step: ${elapsed} s)"
sed 's/^/10-k8s:   /' "$(dirname "$bin_dir")/COMPLETE"
sed 's/^/10-k8s:   /' "$(dirname "$bin_dir")/KUBECTL_COMPLETE"
