#!/usr/bin/env bash
# CI step: the `prom` test tier needs a real Prometheus; Debian's package ships `prometheus` and `promtool`
# (no service is started in a container). Idempotent: does nothing when promtool is already installed.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  echo "20-prometheus: $(prometheus --version 2>&1 | head -1)"
  exit 0
fi
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
start=$EPOCHREALTIME
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get install -y -q --no-install-recommends prometheus >/dev/null \
  || { $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
# The package's postinst may start a system service where systemd runs; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $sudo_cmd systemctl stop prometheus || true
fi
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "20-prometheus: installed $(prometheus --version 2>&1 | head -1) in ${elapsed} s"
