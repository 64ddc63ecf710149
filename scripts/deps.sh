#!/usr/bin/env bash
# Installs the system packages Brook's build needs, only when they are missing.
# Works on a fresh Debian machine (as root, or with sudo) that has only the Rust toolchain.
set -euo pipefail

# Debian packages the build needs. RocksDB (the engine's state store) will add
# libclang-dev (bindgen) and librocksdb-dev here when the engine lands.
needed=(gcc)

missing=()
for pkg in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing missing build packages: ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (rustup) first" >&2; exit 1; }
