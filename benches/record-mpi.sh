#!/usr/bin/env bash
# MPI ranks against threads on one machine: `mpirun -n R` with T threads each against one process
# with R x T threads, on the CPU backends, stream (weak and strong scaling) and European Monte
# Carlo; then `sweep ranks` over 1, 2, 4, … of the ranks and its chart; the JSON documents, the
# load before each run and the MPI library, under OUT.
#
# Usage: HEXPYLOT_BIN=target/release/hexpylot [HEXPYLOT_PLAIN_BIN=...] benches/record-mpi.sh OUT
#   HEXPYLOT_BIN        a release build with --features mpi
#   HEXPYLOT_PLAIN_BIN  a release build without it (default: HEXPYLOT_BIN, run without mpirun)
#   RANKS (default 2), THREADS per rank (default 1), SIZE (default 2^25), PATHS (default 2^28)
#   PAUSE seconds before each step (default 45), for the load of the last one to decay
set -euo pipefail
out=${1:?usage: HEXPYLOT_BIN=... benches/record-mpi.sh OUT}
bin=${HEXPYLOT_BIN:?set HEXPYLOT_BIN to a release hexpylot built with --features mpi}
plain=${HEXPYLOT_PLAIN_BIN:-$bin}
ranks=${RANKS:-2}
threads=${THREADS:-1}
size=${SIZE:-2^25}
paths=${PATHS:-2^28}
mkdir -p "$out"
# Open MPI refuses root without both; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One process gets every core the ranks get; the ranks are bound one core each by Open MPI's
# default for up to two ranks, and `--bind-to core` states it for more.
mpi=(mpirun -n "$ranks" --bind-to core --map-by core "$bin")
all=$((ranks * threads))
cpu=(--backends engine,rayon)

step() {
  local name=$1
  shift
  sleep "${PAUSE:-45}"
  echo "== $name: $*" | tee -a "$out/log.txt"
  uptime | tee -a "$out/log.txt"
  "$@" --json "$out/$name.json" "${cpu[@]}" 2>&1 | tee -a "$out/log.txt"
}

mpirun --version | head -1 >"$out/log.txt"
step stream-1x$all "$plain" stream --size "$size" --threads "$all"
step stream-${ranks}x$threads-strong "${mpi[@]}" stream --size "$size" --threads "$threads" --scaling strong
step stream-${ranks}x$threads-weak "${mpi[@]}" stream --size "$size" --threads "$threads" --scaling weak
step mc-1x$all "$plain" mc --paths "$paths" --threads "$all"
step mc-${ranks}x$threads "${mpi[@]}" mc --paths "$paths" --threads "$threads"
step sweep-ranks "${mpi[@]}" sweep ranks --size "$size" --paths "$paths" --threads "$threads"
"$bin" chart "$out/sweep-ranks.json" --out "$out/charts" | tee -a "$out/log.txt"
