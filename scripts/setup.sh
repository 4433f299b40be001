#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine: the Debian packages the tests and notebooks
# need (Jupyter for the kernel tests and notebook runs, Chromium for the rendered-page test,
# Redis for the job queue), then the npm dependencies from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_packages=(jupyter-client jupyter-console python3-jupyter-kernel-test python3-nbclient jupyter-nbconvert jupyter-notebook chromium redis-server)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# onnxruntime-node's CPU binaries are in its npm package; its install script would download
# the CUDA ones (hundreds of MB from GitHub, absent from npm): skip it.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
# Forge Studio's web app (studio/README.md): built once into studio/dist, served by `forge studio`.
npm run build:studio
