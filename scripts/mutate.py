"""`make mutate`: mutation testing of the code paths where a bug loses a household.

Runs mutmut (the `mutate` extra; config in pyproject.toml `[tool.mutmut]`) over the functions
below only -- the retry loop, register recovery, claim confirmation, unclaim and delete, the
providers' delete and diff, and redaction -- against the client and provider tests that cover
them, one worker per core, then prints the score and every surviving mutant. Exits 1 if a
survivor is not explained in docs/testing.md (each one there is either killed by a named test
or argued equivalent). Not part of `make test`; docs/testing.md gives the time of a full run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).with_name("mutmut")
DOC = REPO / "docs" / "testing.md"
WORKERS = os.cpu_count() or 1

FUNCTIONS = [
    # the retry loop (plume_provider/client/_retry.py): "was this request sent?", the pure
    # decision after each attempt, the backoff schedule and the loop that carries decisions out
    "plume_provider.client._retry.x__request_sent",
    "plume_provider.client._retry.x_decide",
    "plume_provider.client._retry.x_backoff_delay",
    "plume_provider.client._retry.x__jittered",
    "plume_provider.client._retry.x_send_with_retries",
    "plume_provider.client._retry.x__attempt",
    # redaction (plume_provider/client/_redaction.py): a bug there puts a secret in a log line
    "plume_provider.client._redaction.x_register_secret",
    "plume_provider.client._redaction.xǁ_SecretRegistryǁadd",
    "plume_provider.client._redaction.x__replace",
    "plume_provider.client._redaction.x_redact",
    "plume_provider.client._redaction.x_redact_record",
    "plume_provider.client._redaction.xǁRedactingFilterǁfilter",
    # the register recovery's decision (plume_provider/client/_recovery.py, pure): is a found
    # customer the one the lost register created?
    "plume_provider.client._recovery.x_not_created_by",
    "plume_provider.client._recovery.x_is_own_email",
    "plume_provider.client._recovery.x_timestamp",
    # register recovery, claim confirmation, unclaim and delete (plume_provider/client/_client.py)
    "plume_provider.client._client.xǁPlumeClientǁregister_customer",
    "plume_provider.client._client.xǁPlumeClientǁ_find_registered",
    "plume_provider.client._client.xǁPlumeClientǁclaim_node",
    "plume_provider.client._client.xǁPlumeClientǁ_confirm_claim",
    "plume_provider.client._client.x__pick",
    "plume_provider.client._client.xǁPlumeClientǁunclaim_node",
    "plume_provider.client._client.xǁPlumeClientǁdelete_customer",
    # the providers' delete and diff (plume_provider/resources/customer.py, node.py)
    "plume_provider.resources.customer.xǁCustomerProviderǁdelete",
    "plume_provider.resources.customer.xǁCustomerProviderǁ_confirmed_unknown",
    "plume_provider.resources.customer.xǁCustomerProviderǁdiff",
    "plume_provider.resources.customer.xǁCustomerProviderǁ_normalize",
    "plume_provider.resources.customer.x__with_defaults",
    "plume_provider.resources.node.xǁNodeProviderǁdelete",
    "plume_provider.resources.node.xǁNodeProviderǁdiff",
    "plume_provider.resources.node.x__where",
]

# mutmut's exit codes (mutmut/stats.py); "no tests" counts as not killed
STATUS = {
    0: "survived",
    1: "killed",
    3: "killed",
    5: "no tests",
    33: "no tests",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
}


def results() -> dict[str, str]:
    """Mutant name -> status, for the mutants of FUNCTIONS."""
    found: dict[str, str] = {}
    for meta in (REPO / "mutants").rglob("*.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if re.sub(r"__mutmut_\d+$", "", name) in FUNCTIONS:
                found[name] = STATUS.get(code, f"exit {code}")
    return found


def main() -> int:
    shutil.rmtree(REPO / "mutants", ignore_errors=True)  # every run from scratch: no stale verdicts
    started = time.monotonic()
    patterns = [f"{name}__mutmut_*" for name in FUNCTIONS]
    run = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(WORKERS), *patterns], cwd=REPO, check=False
    )
    minutes = (time.monotonic() - started) / 60
    found = results()
    counts = Counter(found.values())
    checked = counts["killed"] + counts["survived"] + counts["timeout"] + counts["no tests"]
    killed = counts["killed"] + counts["timeout"]
    survivors = sorted(n for n, status in found.items() if status in ("survived", "no tests"))
    print(f"\nmake mutate: {len(found)} mutants in {len(FUNCTIONS)} functions, {minutes:.1f} min")
    print(f"  killed {killed} of {checked} ({100 * killed / max(checked, 1):.1f} %)", end="")
    print(f"; {counts['timeout']} of the kills by timeout; other: {dict(counts)}")
    documented = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    unexplained = [name for name in survivors if name.split(".")[-1] not in documented]
    for name in survivors:
        flag = "  (not in docs/testing.md)" if name in unexplained else ""
        print(f"  survived: {name}{flag}")
    if survivors:
        print(f"  see one with: {MUTMUT.relative_to(REPO)} show <name>")
    if run.returncode != 0:
        print(f"mutmut exited {run.returncode}", file=sys.stderr)
        return 1
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
