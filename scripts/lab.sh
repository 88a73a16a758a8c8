#!/usr/bin/env bash
# The lab: the Plume Cloud emulator in the background, a local Pulumi backend under .lab/state,
# and the `lab` stack. Usage: scripts/lab.sh up|preview|refresh|destroy|stop-emulator
#
# Environment (all optional): LAB_DIR (.lab), LAB_PORT (8765), VENV (.venv), PYTHON (python3),
# PULUMI_CONFIG_PASSPHRASE (the lab passphrase, "plume-lab": it guards only the lab stack's secrets).
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-up}
lab_dir=${LAB_DIR:-.lab}
port=${LAB_PORT:-8765}
venv=${VENV:-.venv}
py="$venv/bin/python"
emulator_url="http://127.0.0.1:$port"

stop_emulator() {
  local pid_file="$lab_dir/emulator.pid"
  if [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null; then
    echo "plume-emulator stopped (pid $(cat "$pid_file"))"
  else
    echo "no emulator started by make lab is running"
  fi
  rm -f "$pid_file"
}

if [ "$action" = stop-emulator ]; then
  stop_emulator
  exit 0
fi

if ! command -v pulumi >/dev/null 2>&1; then
  echo "The Pulumi CLI is not installed: install it (https://www.pulumi.com/docs/iac/download-install/, e.g. 'curl -fsSL https://get.pulumi.com | sh'), then run 'make ${action/#up/lab}' again." >&2
  exit 127
fi

make --no-print-directory venv PYTHON="${PYTHON:-python3}" VENV="$venv"
mkdir -p "$lab_dir/state"

emulator_answers() {
  "$py" - "$emulator_url" <<'PYEOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/_emulator/health", timeout=1) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
PYEOF
}

if emulator_answers; then
  echo "plume-emulator already answers on $emulator_url"
else
  nohup "$py" -m plume_emulator --port "$port" --db "$lab_dir/plume.sqlite" >"$lab_dir/emulator.log" 2>&1 &
  echo $! >"$lab_dir/emulator.pid"
  "$py" - "$emulator_url" "$(cat "$lab_dir/emulator.pid")" <<'PYEOF'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url + "/_emulator/health", timeout=1):
            sys.exit(0)
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
sys.exit(f"plume-emulator did not answer on {url}; see .lab/emulator.log")
PYEOF
  echo "plume-emulator started on $emulator_url (pid $(cat "$lab_dir/emulator.pid"), log $lab_dir/emulator.log)"
fi

export PULUMI_BACKEND_URL="file://$(cd "$lab_dir/state" && pwd)"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-plume-lab}"
export PULUMI_SKIP_UPDATE_CHECK=true

overrides=()
if [ "$port" != 8765 ]; then
  overrides=(--config "plume:apiUrl=$emulator_url/api" --config "plume:tokenUrl=$emulator_url/oauth2/token")
fi

pulumi stack select --create lab --non-interactive
case "$action" in
  up) pulumi up --yes --stack lab --non-interactive "${overrides[@]}" ;;
  preview) pulumi preview --stack lab --non-interactive "${overrides[@]}" ;;
  refresh) pulumi refresh --yes --stack lab --non-interactive ;;
  destroy) pulumi destroy --yes --stack lab --non-interactive ;;
  *) echo "unknown action '$action': use up, preview, refresh, destroy or stop-emulator" >&2; exit 2 ;;
esac
