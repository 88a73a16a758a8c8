#!/usr/bin/env bash
# Build the pinned Pulumi CLI from Pulumi's Go modules into .tools/pulumi/bin (idempotent).
#
# What gets built (versions pinned in tools/pulumi-cli/go.mod):
#   pulumi                          the CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-python          the Python language host (tools/pulumi-cli/langhost)
#   pulumi-language-python-exec     the SDK's program executor     } scripts from the
#   pulumi-resource-pulumi-python   the dynamic-provider host      } pinned sdk/v3 module
# Nothing is done when the stamp matches the pinned sources. Go's module and build caches are
# reused, so only the first build is slow.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=tools/pulumi-cli
out=.tools/pulumi/bin
stamp=.tools/pulumi/.built

if ! command -v go >/dev/null 2>&1; then
  echo "pulumi-cli: Go is not installed; install Go >= 1.26 (or put a pulumi CLI on PATH) and retry." >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# go runs in the tools module; on failure, its output, then one line that says what refused.
go_in_src() {
  (cd "$src" && GOFLAGS=-mod=readonly go "$@") 2>"$log" || {
    cat "$log" >&2
    reason=$(grep -m1 -E 'Forbidden|not available|refused|no such host|dial tcp|missing go.sum|cannot find|error' "$log" || tail -n1 "$log")
    echo "pulumi-cli: 'go $1' failed: $reason" >&2
    exit 1
  }
}

version=$(go_in_src list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
want="$version $(cat "$src/go.mod" "$src/go.sum" "$src"/langhost/*.go "$0" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$out/pulumi" ]; then
  echo "pulumi-cli: Pulumi CLI $version already built in $out"
  exit 0
fi

echo "pulumi-cli: building Pulumi CLI $version from Go modules into $out"
echo "pulumi-cli: (the first build downloads and compiles the CLI's modules: 10-15 minutes on 2 cores)"
start=$(date +%s)
mkdir -p "$out"
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
go_in_src build -ldflags "$ldflags" -o "$root/$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
go_in_src build -ldflags "$ldflags" -o "$root/$out/pulumi-language-python" ./langhost

sdk=$(go_in_src list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"
install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$out/pulumi-resource-pulumi-python"

echo "$want" >"$stamp"
echo "pulumi-cli: built $("$out/pulumi" version) in $(($(date +%s) - start)) s: $out/pulumi"
