#!/usr/bin/env bash
# Installs what hyper2kvm Workbench needs on Debian 12, as root: the Debian packages listed in
# build/apt-packages.txt and the npm dependencies (which also builds the app). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 20.11 or newer: the tests use import.meta.dirname (package.json "engines" says the same).
need=20.11
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js ${need} or newer is required and none is installed." >&2
  echo "       Install Node.js 20 (Debian 12's own nodejs is 18, too old), then run this again." >&2
  exit 1
fi
if [ "$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 11)')" != true ]; then
  echo "setup: Node.js ${need} or newer is required; this machine has $(node -v)." >&2
  echo "       Debian 12's own nodejs is too old: install Node.js 20 and run this again." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (it installs Debian packages with apt-get)." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
mapfile -t pkgs < <(grep -vE '^\s*(#|$)' build/apt-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Electron binary is downloaded from outside the npm registry: skip it here; `npm run dist`
# and `npm start` fetch it on machines that have the internet.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run build
fi
echo "setup: done (node $(node -v), $(qemu-img --version | head -1))"
