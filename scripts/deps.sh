#!/usr/bin/env bash
# Installs the system packages Brook's build needs, only when they are missing.
# Works on a fresh Debian machine (as root, or with sudo) that has only the Rust toolchain.
set -euo pipefail

# Debian packages the build needs: gcc (linker), libclang-dev (bindgen, for
# librocksdb-sys) and librocksdb-dev (RocksDB 7.8.3, which the `rocksdb` crate =0.20.1 links
# instead of compiling its bundled C++; see .cargo/config.toml and state/README.md).
# librdkafka-dev (2.0.2) is the real Kafka client brook-kafka's tests run against (the
# `rdkafka` dev-dependency links it dynamically, found with pkg-config, instead of building
# its C sources).
needed=(gcc libclang-dev librocksdb-dev librdkafka-dev pkg-config)

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
