#!/usr/bin/env bash
# Builds the browser scorer into www/pkg/ (wasm + wasm-bindgen JS glue). Installs what is missing: the
# wasm32 target and the wasm-bindgen CLI of exactly the version Cargo.lock pins (the glue and the crate
# must match). SSLPRON_WASM_PROFILE picks the cargo profile (default wasm-release); SSLPRON_WEB_FEATURES
# the devices (default "webgpu": WebGPU + CPU; empty: CPU only) and SSLPRON_WEB_OUT the output folder
# (default www/pkg), for the size table of docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${SSLPRON_WASM_PROFILE:-wasm-release}
features=${SSLPRON_WEB_FEATURES-webgpu}
out=${SSLPRON_WEB_OUT:-www/pkg}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-web: installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "build-web: installing wasm-bindgen-cli $want (Cargo.lock's wasm-bindgen; about 3 minutes)"
  # Not --locked: the CLI's own lockfile pins a crate version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$want"
fi

echo "build-web: building sslpron-web (features: ${features:-none, CPU only}), profile $profile"
cargo build -p sslpron-web --lib --target wasm32-unknown-unknown --profile "$profile" --features "$features"
rm -rf "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name sslpron \
  "target/wasm32-unknown-unknown/$profile/sslpron_web.wasm"
wasm=$out/sslpron_bg.wasm
echo "build-web: $wasm $(stat -c %s "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
