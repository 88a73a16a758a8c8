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

. scripts/pulumi-env.sh
find_pulumi

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

offline_pulumi_env

# The stack file the CLI runs on: stacks/Pulumi.lab.yaml as tracked, pointed at this lab's
# emulator, in $lab_dir/project/stacks. The tracked file is never written: not by a LAB_PORT
# override, nor by the passphrase salt that `pulumi stack init` stores beside the config (the
# stack is created from a copy of Pulumi.yaml there); the salt of earlier runs is kept.
mkdir -p "$lab_dir/project/stacks"
cp Pulumi.yaml "$lab_dir/project/Pulumi.yaml"
stack_file="$lab_dir/project/stacks/Pulumi.lab.yaml"
"$py" - stacks/Pulumi.lab.yaml "$stack_file" "$emulator_url" <<'PYEOF'
import sys, yaml
tracked, generated, url = sys.argv[1:]
with open(tracked, encoding="utf-8") as f:
    document = yaml.safe_load(f)
try:
    with open(generated, encoding="utf-8") as f:
        salt = (yaml.safe_load(f) or {}).get("encryptionsalt")
except FileNotFoundError:
    salt = None
document["config"]["plume:apiUrl"] = url + "/api"
document["config"]["plume:tokenUrl"] = url + "/oauth2/token"
if salt:
    document["encryptionsalt"] = salt
with open(generated, "w", encoding="utf-8") as f:
    f.write("# Made by scripts/lab.sh from stacks/Pulumi.lab.yaml on every run: edit that file.\n")
    yaml.safe_dump(document, f, sort_keys=False, allow_unicode=True)
PYEOF

pulumi() { "$pulumi_bin" "$@"; }
if ! pulumi stack select lab --non-interactive 2>/dev/null; then
  pulumi stack init lab --non-interactive --cwd "$lab_dir/project"
fi
config=(--stack lab --non-interactive --config-file "$stack_file")
case "$action" in
  up) pulumi up --yes "${config[@]}" ;;
  preview) pulumi preview "${config[@]}" ;;
  refresh) pulumi refresh --yes "${config[@]}" ;;
  destroy) pulumi destroy --yes "${config[@]}" ;;
  *) echo "unknown action '$action': use up, preview, refresh, destroy or stop-emulator" >&2; exit 2 ;;
esac
