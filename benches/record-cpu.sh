#!/usr/bin/env bash
# Records the CPU benchmarks of README.md: HexPylot (engine, rayon) and the CPU peers in the same run,
# RUNS times each, on an idle machine. Writes raw JSON under OUT and a summary (medians of the runs).
# Usage: benches/record-cpu.sh OUT [THREADS] [RUNS]    (run from the repository root; builds release)
set -euo pipefail
out=${1:?usage: benches/record-cpu.sh OUT [THREADS] [RUNS]}
threads=${2:-$(nproc)}
runs=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$here/benches/peers}
bin=${HEXPYLOT_BIN:-$here/target/release/hexpylot}
[ -n "${HEXPYLOT_BIN:-}" ] || cargo build --release --quiet
mkdir -p "$out"
{ date -u +%FT%TZ; uptime; } > "$out/uptime.txt"
"$bin" devices --json "$out/devices.json" > /dev/null
for run in $(seq 1 "$runs"); do
  uptime >> "$out/uptime.txt"
  # Alternate which backend goes first, so that drift in the machine favours neither.
  if [ $((run % 2)) = 1 ]; then order=engine,rayon; else order=rayon,engine; fi
  "$bin" stream --threads "$threads" --backends $order --json "$out/stream-2p25-t$threads-run$run.json" --csv "$out/stream-2p25-t$threads-run$run.csv"
  "$bin" stream --threads "$threads" --backends $order --size 2^14 --reps 1000 --json "$out/stream-2p14-t$threads-run$run.json"
  "$bin" mc --threads "$threads" --backends $order --json "$out/mc-european-t$threads-run$run.json"
  "$bin" mc --threads "$threads" --backends $order --option asian-call --steps 52 --paths 2^22 --json "$out/mc-asian-t$threads-run$run.json"
  "$peers/run-cpu-peers.sh" "$threads" > "$out/peers-t$threads-run$run.jsonl"
done
uptime >> "$out/uptime.txt"
python3 "$here/benches/summarize.py" "$out" > "$out/summary.md"
cat "$out/summary.md"
