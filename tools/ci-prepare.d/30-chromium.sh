#!/usr/bin/env bash
# CI step: the `browser` tests render every HTML report in a real headless Chromium (Debian's `chromium`
# package; no CDN, no network needed by the pages). Idempotent: does nothing when chromium is installed.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "30-chromium: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
start=$EPOCHREALTIME
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get install -y -q --no-install-recommends chromium >/dev/null \
  || { $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q --no-install-recommends chromium >/dev/null; }
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "30-chromium: installed $(chromium --version 2>/dev/null | head -1) in ${elapsed} s"
