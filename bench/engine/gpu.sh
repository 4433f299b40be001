#!/usr/bin/env bash
# The engine bench on an NVIDIA machine (issue 17). Not run yet: no GPU machine was available
# when the engine was written. What it does:
#  1. reinstalls onnxruntime-node WITH its CUDA 12 binaries (its install script downloads them
#     from GitHub, which scripts/setup.sh skips on CPU machines);
#  2. runs bench/engine/main.ts with the ONNX graph on the CUDA execution provider
#     (FORGE_ONNX_PROVIDER=cuda; the tfjs rows stay on wasm unless @tensorflow/tfjs-node-gpu is
#     installed).
# Expect the ONNX rows to be limited by the host-memory KV cache, which this engine hands to
# ONNX Runtime as inputs at every run (copied to the device each step): a GPU engine needs the
# cache on the device (IO binding), which onnxruntime-node does not expose yet.
set -euo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,memory.total --format=csv
(cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js)
FORGE_ONNX_PROVIDER=cuda FORGE_ONNX_THREADS="${FORGE_ONNX_THREADS:-4}" BATCHES="${BATCHES:-1,16,64,256}" npx tsx bench/engine/main.ts
