#!/usr/bin/env bash
# `--features cuda` offline: burn-cuda 0.22.1 -> cubecl-cuda -> cubecl-llvm links a static LLVM (with
# NVPTX) that tracel-llvm-bundler normally downloads from its own server at build time. This installs an
# LLVM 23 build from PyPI (mlc-llvm-static, whose static libraries include NVPTX) and lays it out where
# the bundler looks for its copy ($XDG_DATA_HOME/tracel/tracel-llvm-<version>, marked installed), so the
# build finds it and downloads nothing. Prints the export to build with:
#
#   eval "$(bash scripts/llvm-for-cuda.sh [CACHE_DIR])"; cargo build --release -p trainer --features cuda
#
# LLVM 23.1.1 from PyPI stands in for the bundler's 23.1.0; the build it made ran on an NVIDIA H200
# (docs/PERFORMANCE.md, "GPU check"). About 1 GB of wheels, fetched once into CACHE_DIR.
set -euo pipefail
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/sslpron-llvm}
pypi_version=23.1.1.post0
bundler_dir=tracel-llvm-23.1.0-4     # the folder name tracel-llvm-bundler expects
llvm=$cache/pkgs/mlc_llvm_static/static
if [ ! -x "$llvm/bin/llvm-config" ]; then
  mkdir -p "$cache/wheels" "$cache/pkgs"
  python3 -m pip download -q --no-deps -d "$cache/wheels" \
    "mlc-llvm-static==$pypi_version" "mlc-llvm-static-extra-targets==$pypi_version" >&2
  python3 -m pip install -q --no-deps --target "$cache/pkgs" "$cache"/wheels/mlc_llvm_static*.whl >&2
  chmod +x "$llvm/bin/llvm-config"   # wheels drop the executable bit
fi
mkdir -p "$cache/xdg/tracel"
ln -sfn "$llvm" "$cache/xdg/tracel/$bundler_dir"
touch "$llvm/.tracel-llvm-installed"
echo "export XDG_DATA_HOME=$cache/xdg"
