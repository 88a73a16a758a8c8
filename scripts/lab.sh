#!/usr/bin/env bash
# The lab: the Plume Cloud emulator in the background, a local Pulumi backend under .lab/state,
# and the `lab` stack. Usage: scripts/lab.sh up|preview|refresh|destroy|cancel|stop-emulator
# [extra pulumi flags, e.g. refresh --clear-pending-creates]
#
# Environment (all optional): LAB_DIR (.lab), LAB_PORT (8765), VENV (.venv), PYTHON (python3),
# PULUMI_CONFIG_PASSPHRASE (the lab passphrase, "plume-lab": it guards only the lab stack's secrets),
# LAB_BACKEND_URL (the stack's state elsewhere than .lab/state, e.g. a team's PostgreSQL:
# postgres://pulumi@db.example.org:5432/pulumi?sslmode=require, the password in PGPASSWORD).
#
# One update at a time: the backend's lock refuses a second up/refresh/destroy of the stack; on
# that refusal this script says who holds it and the safe next step. `cancel` removes the locks
# of an update that died (pulumi cancel): never while that update still runs.
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-up}
shift || true
extra=("$@")
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
if [ -n "${LAB_BACKEND_URL:-}" ]; then
  export PULUMI_BACKEND_URL=$LAB_BACKEND_URL
  echo "lab state in LAB_BACKEND_URL (${LAB_BACKEND_URL%%://*}://...)"
fi

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

# An update (up, refresh, destroy): the CLI's own error names the lock's holder (user@host, pid,
# time); this adds what is safe to do about it, since `pulumi cancel` on a running update lets a
# second one start beside it.
update() {
  local errors status=0
  errors=$(mktemp)
  { pulumi "$@" 2>&1 1>&3 | tee "$errors" >&2; } 3>&1 || status=$?
  if [ "$status" -ne 0 ] && grep -q "the stack is currently locked" "$errors"; then
    cat >&2 <<EOF
lab.sh: stack lab is being updated by the process named above (user@host, pid). Wait for it to
  end and run this again. Only if that process is gone (check with \`ps -p <pid>\` on that host:
  killed, or its machine lost) remove its lock with \`scripts/lab.sh cancel\`, then clear what it
  left half-done with \`scripts/lab.sh refresh --clear-pending-creates\` before the next up.
EOF
  fi
  rm -f "$errors"
  return "$status"
}

case "$action" in
  up) update up --yes "${config[@]}" "${extra[@]}" ;;
  preview) pulumi preview "${config[@]}" "${extra[@]}" ;;
  refresh) update refresh --yes "${config[@]}" "${extra[@]}" ;;
  destroy) update destroy --yes "${config[@]}" "${extra[@]}" ;;
  cancel) pulumi cancel --yes --stack lab --non-interactive ;;
  *) echo "unknown action '$action': use up, preview, refresh, destroy, cancel or stop-emulator" >&2; exit 2 ;;
esac
