#!/usr/bin/env bash
# Builds, on a development machine, what benches/device-run.sh takes on a GPU machine that may have
# no compilers: the release hexpylot (stripped), the rust-rand peer and the OpenMP peer (x86-64-v3,
# libgomp linked in), all into DIR (default .device/, which should be git-ignored).
#
# Usage: benches/device-prepare.sh [DIR]
# Then, on the GPU machine, from the repository root:
#   HEXPYLOT_BIN=DIR/hexpylot RAND_PEER_BIN=DIR/rand_peer OMP_TRIAD_BIN=DIR/omp_triad \
#     benches/device-run.sh OUT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.device}
mkdir -p "$dir"
cd "$root"
cargo build --release --locked --bin hexpylot --example rand_peer
# Line tables help here, not there: stripping halves what travels.
strip -o "$dir/hexpylot" target/release/hexpylot
strip -o "$dir/rand_peer" target/release/examples/rand_peer
# The same floor as the release binary, not this machine's -march=native; OpenMP linked in so that
# a machine without libgomp runs it.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
${CC:-gcc} -O3 -march=x86-64-v3 -fopenmp -c benches/peers/omp_triad.c -o "$work/omp_triad.o"
${CC:-gcc} -fopenmp "$work/omp_triad.o" -o "$dir/omp_triad" -Wl,-Bstatic -lgomp -Wl,-Bdynamic -lm -lpthread -ldl
ls -l "$dir"
