#!/usr/bin/env bash
# Records `hexpylot compare` with the peers in the same run: the CPU peers always, the GPU peer
# (Numba-CUDA, CuPy) where an NVIDIA GPU and its Python stack are present. RUNS runs; raw outputs
# and uptime before each under OUT.
# Usage: benches/record-compare.sh OUT [THREADS] [RUNS] [extra compare args...]
set -euo pipefail
out=${1:?usage: benches/record-compare.sh OUT [THREADS] [RUNS] [compare args...]}
threads=${2:-$(nproc)}
runs=${3:-1}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$here/benches/peers}
bin=${HEXPYLOT_BIN:-$here/target/release/hexpylot}
[ -n "${HEXPYLOT_BIN:-}" ] || cargo build --release --quiet
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$out"
{ date -u +%FT%TZ; uptime; } > "$out/uptime.txt"
"$bin" devices --json "$out/devices.json" > "$out/devices.txt"
for run in $(seq 1 "$runs"); do
  uptime >> "$out/uptime.txt"
  "$bin" compare --threads "$threads" --json "$out/compare-t$threads-run$run.json" "$@" | tee "$out/compare-t$threads-run$run.txt"
  "$peers/run-cpu-peers.sh" "$threads" > "$out/peers-t$threads-run$run.jsonl"
  if command -v nvidia-smi > /dev/null; then
    python3 "$peers/gpu_peer.py" > "$out/gpu-peer-run$run.jsonl" 2> "$out/gpu-peer-run$run.err" || true
  fi
done
uptime >> "$out/uptime.txt"
