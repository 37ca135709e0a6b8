#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine, as root: install what is needed, then run the main
# job on the bundled sample disk (assets/sample/sample-vm.vmdk): what can this machine do,
# what is this disk and what will break on KVM, and its conversion to qcow2, verified.
set -euo pipefail
cd "$(dirname "$0")/.."

bash build/setup-debian.sh

out="${H2K_QUICKSTART_OUT:-$PWD/quickstart-output}"
mkdir -p "$out"
h2k() { node bin/h2k-worker.js "$@"; }

echo
echo "== 1. What this machine can do (the first run starts a test appliance: a minute or two without KVM)"
h2k capabilities

echo
echo "== 2. Inspect the sample disk: image facts, the guest inside, and findings with their fixes"
h2k inspect assets/sample/sample-vm.vmdk

echo
echo "== 3. Convert it to qcow2 for KVM, verified against the source with qemu-img compare"
h2k convert assets/sample/sample-vm.vmdk "$out/" --verify compare --overwrite

echo
echo "== Done. The converted disk is in $out; the history of these jobs: node bin/h2k-worker.js list"
