# Sourced by the lab scripts: find the Pulumi CLI and set up an environment in which it never
# reaches for the network. Needs $lab_dir; sets $pulumi_bin and exports the PULUMI_* variables.
#
# Which CLI: a `pulumi` on PATH when there is one, else the pinned build in .tools/pulumi/bin
# (built now, from Go modules, when Go is present), else a one-line install hint and exit 127.

pinned_pulumi=.tools/pulumi/bin/pulumi

find_pulumi() {
  if command -v pulumi >/dev/null 2>&1; then
    pulumi_bin=$(command -v pulumi)
    echo "using the Pulumi CLI on PATH: $pulumi_bin"
  elif command -v go >/dev/null 2>&1; then
    scripts/pulumi-cli.sh
    pulumi_bin=$PWD/$pinned_pulumi
    echo "using the pinned Pulumi CLI: $pulumi_bin"
  else
    echo "The Pulumi CLI is not installed and Go is not there to build it: install Go >= 1.26 and run 'make pulumi-cli', or install the CLI (https://www.pulumi.com/docs/iac/download-install/, e.g. 'curl -fsSL https://get.pulumi.com | sh'), then run 'make ${action/#up/lab}' again." >&2
    exit 127
  fi
}

offline_pulumi_env() {
  mkdir -p "$lab_dir/state" "$lab_dir/pulumi-home"
  # The CLI's own plugins (language host, dynamic-provider host) sit beside it.
  PATH="$(dirname "$pulumi_bin"):$PATH"
  export PATH
  export PULUMI_HOME="$(cd "$lab_dir/pulumi-home" && pwd)"
  # metadata=skip: no .attrs sidecar files, whose non-atomic write can leave the state unreadable
  # after a kill ("failed to load checkpoint: EOF"; docs/upstream.md)
  export PULUMI_BACKEND_URL="file://$(cd "$lab_dir/state" && pwd)?metadata=skip"
  export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-plume-lab}"
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
}
