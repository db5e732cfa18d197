#!/usr/bin/env bash
# Records the three sweeps, the CPU peers at each thread count of the thread sweep (and the GPU
# peer where an NVIDIA GPU is present) in the same run, then draws the charts, all under OUT.
# Usage: benches/record-sweeps.sh OUT [THREADS] [MAX_SIZE] [ROOFLINE_SIZE]
#   MAX_SIZE caps the size sweep (default: the largest that fits); ROOFLINE_SIZE default 2^24.
set -euo pipefail
out=${1:?usage: benches/record-sweeps.sh OUT [THREADS] [MAX_SIZE] [ROOFLINE_SIZE]}
threads=${2:-$(nproc)}
max_size=${3:-}
roofline_size=${4:-2^24}
here=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$here/benches/peers}
bin=${HEXPYLOT_BIN:-$here/target/release/hexpylot}
[ -n "${HEXPYLOT_BIN:-}" ] || cargo build --release --quiet
mkdir -p "$out"
{ date -u +%FT%TZ; uptime; } > "$out/uptime.txt"
"$bin" devices --json "$out/devices.json" > "$out/devices.txt"
"$bin" sweep threads --threads "$threads" --json "$out/sweep-threads.json" --csv "$out/sweep-threads.csv" | tee "$out/sweep-threads.txt"
uptime >> "$out/uptime.txt"
"$bin" sweep sizes --threads "$threads" ${max_size:+--max-size "$max_size"} --json "$out/sweep-sizes.json" --csv "$out/sweep-sizes.csv" | tee "$out/sweep-sizes.txt"
uptime >> "$out/uptime.txt"
"$bin" sweep roofline --threads "$threads" --size "$roofline_size" --json "$out/sweep-roofline.json" --csv "$out/sweep-roofline.csv" | tee "$out/sweep-roofline.txt"
uptime >> "$out/uptime.txt"
t=1
while :; do
  "$peers/run-cpu-peers.sh" "$t" > "$out/peers-t$t.jsonl"
  [ "$t" -lt "$threads" ] || break
  t=$(( t * 2 > threads ? threads : t * 2 ))
done
if command -v nvidia-smi > /dev/null; then
  python3 "$peers/gpu_peer.py" > "$out/gpu-peer.jsonl" 2> "$out/gpu-peer.err" || true
fi
uptime >> "$out/uptime.txt"
# Only peer files with something in them: a failed GPU peer leaves an empty one.
peer_files=()
for f in "$out"/*peer*.jsonl; do [ -s "$f" ] && peer_files+=("$f"); done
"$bin" chart "$out"/sweep-*.json "${peer_files[@]}" --out "$out"
