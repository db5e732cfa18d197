#!/usr/bin/env bash
# Everything a GPU machine should record, in one call, from binaries built elsewhere: devices,
# compare at its defaults (the launch tuner's choices and both GPU Monte Carlo paths, mirror and
# native, are in its rows), the same with --gpu-tune off, compare at 2^28 elements, the four
# sweeps (threads, sizes, roofline, transfer), the GPU peer and the CPU peers at every core, the
# charts; packed into at most 8 files under OUT (a tarball of everything, the two compare
# documents, four charts, a summary). Sized for 8 minutes on a 16-core H200 machine; every step
# is time-limited, and no step starts past HEXPYLOT_DEVICE_BUDGET seconds (default 540) from the
# start, so that the packing always happens inside one 10-minute device call.
#
# Usage: HEXPYLOT_BIN=path/to/release/hexpylot benches/device-run.sh OUT
#   HEXPYLOT_DEVICE_QUICK=1   the same steps at tiny sizes (any machine, lavapipe included)
#   OMP_TRIAD_BIN, RAND_PEER_BIN   prebuilt CPU peers (see benches/peers/README.md); without them a
#                                  peer is built when its compiler is there and skipped otherwise
# It builds nothing of HexPylot: a device machine may have no Rust. A failed step is recorded in
# summary.txt and the remaining steps still run; the exit status is 1 when any step failed.
# benches/device-prepare.sh builds the binaries this script takes.
set -uo pipefail
out=${1:?usage: HEXPYLOT_BIN=... benches/device-run.sh OUT}
bin=${HEXPYLOT_BIN:?set HEXPYLOT_BIN to a release hexpylot binary (this script builds nothing)}
here=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$bin" ] || { echo "device-run: HEXPYLOT_BIN=$bin is not an executable" >&2; exit 2; }
mkdir -p "$out" || exit 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
res=$work/hexpylot-device
mkdir -p "$res/charts"
threads=$(nproc)

if [ "${HEXPYLOT_DEVICE_QUICK:-0}" = 1 ]; then
  mode=quick
  compare_args=(--size 2^16 --paths 2^14 --reps 3 --mc-reps 2 --steps 4)
  big_args=(--size 2^18 --paths 2^14 --reps 3 --mc-reps 2 --steps 4)
  threads_args=(--size 2^16 --paths 2^14 --reps 3)
  sizes_args=(--max-size 2^16)
  roofline_args=(--size 2^14 --max-fmas 8 --reps 2)
  transfer_args=(--max-size 2^20 --reps 3 --dispatches 100)
  peer_n=65536 peer_paths=65536 gpu_peer_n=65536 gpu_peer_paths=65536
  limit=120
else
  mode=full
  compare_args=()
  big_args=(--size 2^28 --reps 10)
  threads_args=()
  # 2^30 f32 elements: 4 GiB per array, past every cache by far; the sweep's own default (all of
  # host memory) would spend minutes on first touch and uploads.
  sizes_args=(--max-size 2^30)
  roofline_args=()
  transfer_args=()
  peer_n=33554432 peer_paths=16777216 gpu_peer_n=134217728 gpu_peer_paths=268435456
  limit=150
fi

# The Rust peer is a cargo example: found beside the binary (target/*/examples/, or a carried
# folder), never built here.
for f in "$(dirname "$bin")/examples/rand_peer" "$(dirname "$bin")/rand_peer"; do
  [ -n "${RAND_PEER_BIN:-}" ] || { [ -x "$f" ] && export RAND_PEER_BIN=$f; }
done
export PEERS_CARGO_BUILD=0

summary=$res/summary.txt
failed=0
# step NAME SECONDS CMD...: runs CMD with its stdout in NAME.txt (stderr too, in NAME.err), bounded
# by SECONDS, and records its status and duration; a failure does not stop the run.
budget=${HEXPYLOT_DEVICE_BUDGET:-540}
step() {
  local name=$1 seconds=$2
  shift 2
  local start=$SECONDS status
  # What is left of the budget, less 20 s for the charts and the packing.
  local left=$((budget - 20 - SECONDS))
  if [ "$left" -lt 5 ]; then
    printf '%-16s skipped: the %ds budget is spent\n' "$name" "$budget" >> "$summary"
    failed=1
    return 0
  fi
  [ "$seconds" -le "$left" ] || seconds=$left
  timeout --signal=INT --kill-after=10 "$seconds" "$@" > "$res/$name.txt" 2> "$res/$name.err"
  status=$?
  [ -s "$res/$name.err" ] || rm -f "$res/$name.err"
  local cmd="$*"
  printf '%-16s exit %3d  %4ds  %s\n' "$name" "$status" $((SECONDS - start)) "${cmd//$res\//}" >> "$summary"
  [ "$status" = 0 ] || failed=1
  return 0
}

{
  echo "hexpylot device run ($mode), $(date -u +%FT%TZ), $threads CPUs, $("$bin" --version)"
  uptime
} > "$summary"
command -v nvidia-smi > /dev/null && nvidia-smi > "$res/nvidia-smi.txt" 2>&1

step devices 60 "$bin" devices --json "$res/devices.json"
step compare "$limit" "$bin" compare "${compare_args[@]}" --json "$res/compare.json"
step compare-untuned "$limit" "$bin" compare "${compare_args[@]}" --gpu-tune off \
  --json "$res/compare-untuned.json"
step compare-2p28 "$limit" "$bin" compare "${big_args[@]}" --json "$res/compare-2p28.json"
step sweep-threads "$limit" "$bin" sweep threads "${threads_args[@]}" \
  --json "$res/sweep-threads.json" --csv "$res/sweep-threads.csv"
step sweep-sizes "$limit" "$bin" sweep sizes "${sizes_args[@]}" \
  --json "$res/sweep-sizes.json" --csv "$res/sweep-sizes.csv"
step sweep-roofline "$limit" "$bin" sweep roofline "${roofline_args[@]}" \
  --json "$res/sweep-roofline.json" --csv "$res/sweep-roofline.csv"
step sweep-transfer "$limit" "$bin" sweep transfer "${transfer_args[@]}" \
  --json "$res/sweep-transfer.json" --csv "$res/sweep-transfer.csv"
step cpu-peers "$limit" bash "$here/benches/peers/run-cpu-peers.sh" "$threads" "$peer_n" "$peer_paths"
if command -v python3 > /dev/null; then
  step gpu-peer "$limit" python3 "$here/benches/peers/gpu_peer.py" "$gpu_peer_n" "$gpu_peer_paths"
else
  echo '{"peer": "gpu-python", "skipped": "no python3 on PATH"}' > "$res/gpu-peer.txt"
  printf '%-16s exit %3d  %4ds  %s\n' gpu-peer 0 0 "skipped: no python3 on PATH" >> "$summary"
fi
# (Absent when the budget ran out before the step.)
[ -f "$res/cpu-peers.txt" ] && mv "$res/cpu-peers.txt" "$res/peers-t$threads.jsonl"
[ -f "$res/gpu-peer.txt" ] && mv "$res/gpu-peer.txt" "$res/gpu-peer.jsonl"
uptime >> "$summary"

# Charts from whatever sweeps and peers produced figures (a peer file of skipped lines has none).
inputs=()
for f in "$res"/sweep-*.json; do [ -s "$f" ] && inputs+=("$f"); done
for f in "$res"/*peer*.jsonl; do grep -qv '"skipped"' "$f" 2> /dev/null && inputs+=("$f"); done
step chart 60 "$bin" chart "${inputs[@]}" --out "$res/charts"

# At most 8 files come back from a device machine: everything in one tarball, and beside it the
# files a reader looks at first.
tar -czf "$out/hexpylot-device.tar.gz" -C "$work" hexpylot-device || failed=1
for f in compare.json compare-2p28.json summary.txt charts/memory-wall.png charts/sizes.png \
  charts/roofline.png charts/montecarlo.png; do
  [ -f "$res/$f" ] && cp "$res/$f" "$out/"
done
cat "$summary"
exit "$failed"
