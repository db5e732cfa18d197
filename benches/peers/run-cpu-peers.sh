#!/usr/bin/env bash
# Runs HexPylot's CPU peers at one thread count and prints one JSON line per peer, each tagged with
# "peer": its figures, or {"peer": ..., "skipped": reason} when its toolchain is missing or it failed.
# Always exits 0 once its arguments are valid: a missing compiler or Python package is not an error.
#
# Usage: benches/peers/run-cpu-peers.sh THREADS [n_elems] [n_paths]   (defaults 2^25 elements, 2^24 paths)
#
# Peers (see benches/peers/README.md):
#   openmp-c   omp_triad.c: STREAM triad in C/OpenMP      prebuilt: OMP_TRIAD_BIN, else built with $CC (gcc)
#   numba      numba_peer.py: Numba triad + European MC    needs $PYTHON (python3) with numpy and numba
#   rust-rand  rand_peer.rs: rayon + rand + rand_distr     prebuilt: RAND_PEER_BIN, else `cargo build --release --example rand_peer`
# Other settings: CC (default gcc), OMP_TRIAD_CFLAGS (default "-O3 -march=native -fopenmp"), PYTHON,
# PEERS_CARGO_BUILD=0 (skip rust-rand rather than build it when RAND_PEER_BIN is unset).
set -uo pipefail
usage='usage: run-cpu-peers.sh THREADS [n_elems] [n_paths]'
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "$usage" >&2; exit 2; }
threads=$1
n=${2:-33554432}
paths=${3:-16777216}
for v in "$threads" "$n" "$paths"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run-cpu-peers.sh: not a positive integer: $v ($usage)" >&2; exit 2; }
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A JSON string: backslashes and quotes escaped, control characters turned into spaces.
json_str() {
  local s
  s=$(printf '%s' "$1" | tr '\000-\037' ' ')
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

skip() { # skip PEER REASON
  printf '{"peer": %s, "skipped": %s}\n' "$(json_str "$1")" "$(json_str "$2")"
}

# The last non-empty line of a file, shortened: the reason a build or run failed.
last_line() { grep -v '^[[:space:]]*$' "$1" 2> /dev/null | tail -n 1 | cut -c1-300; }

# run_peer PEER COMMAND...: prints the peer's JSON line. A peer that exits non-zero after printing
# its line (a wrong result: "valid": false) keeps that line; one that printed nothing is reported
# as skipped with the reason.
run_peer() {
  local peer=$1 status line
  shift
  "$@" > "$work/$peer.out" 2> "$work/$peer.err"
  status=$?
  line=$(grep -m 1 '^{' "$work/$peer.out")
  if [ -n "$line" ]; then
    printf '%s\n' "$line"
  else
    skip "$peer" "failed (exit $status): $(last_line "$work/$peer.err")"
  fi
}

# A prebuilt binary from the environment, checked.
prebuilt() { # prebuilt PEER VAR: returns 0 and sets $bin when VAR names an executable
  local var=$2
  bin=${!var:-}
  [ -n "$bin" ] || return 1
  if [ ! -x "$bin" ]; then
    skip "$1" "$var=$bin is not an executable file"
    bin=
    return 2
  fi
  return 0
}

# --- openmp-c ---------------------------------------------------------------------------------
bin=
prebuilt openmp-c OMP_TRIAD_BIN
case $? in
  0) ;;
  2) ;;
  *)
    cc=${CC:-gcc}
    if ! command -v "$cc" > /dev/null 2>&1; then
      skip openmp-c "no C compiler ($cc) on PATH; install gcc and libgomp, or set OMP_TRIAD_BIN"
    elif "$cc" ${OMP_TRIAD_CFLAGS:--O3 -march=native -fopenmp} "$here/omp_triad.c" -o "$work/omp_triad" -lm 2> "$work/omp-build.err"; then
      bin=$work/omp_triad
    else
      skip openmp-c "$cc could not build omp_triad.c with OpenMP: $(last_line "$work/omp-build.err")"
    fi
    ;;
esac
if [ -n "$bin" ]; then
  OMP_NUM_THREADS=$threads OMP_PROC_BIND=${OMP_PROC_BIND:-close} OMP_PLACES=${OMP_PLACES:-cores} \
    run_peer openmp-c "$bin" "$n"
fi

# --- numba ------------------------------------------------------------------------------------
python=${PYTHON:-python3}
if ! command -v "$python" > /dev/null 2>&1; then
  skip numba "no $python on PATH"
elif ! "$python" -c 'import numba, numpy' > /dev/null 2>&1; then
  skip numba "$python lacks numba/numpy (pip install numpy numba)"
else
  NUMBA_NUM_THREADS=$threads run_peer numba "$python" "$here/numba_peer.py" "$n" "$paths"
fi

# --- rust-rand --------------------------------------------------------------------------------
bin=
prebuilt rust-rand RAND_PEER_BIN
case $? in
  0) ;;
  2) ;;
  *)
    if [ "${PEERS_CARGO_BUILD:-1}" = 0 ]; then
      skip rust-rand "not carried (RAND_PEER_BIN unset) and PEERS_CARGO_BUILD=0: this run builds nothing"
    elif ! command -v cargo > /dev/null 2>&1; then
      skip rust-rand "no cargo on PATH; install Rust, or set RAND_PEER_BIN"
    elif [ ! -f "$root/Cargo.toml" ]; then
      skip rust-rand "no Cargo.toml at $root; set RAND_PEER_BIN"
    elif (cd "$root" && cargo build --release --quiet --example rand_peer) 2> "$work/rand-build.err"; then
      bin=${CARGO_TARGET_DIR:-$root/target}/release/examples/rand_peer
    else
      skip rust-rand "cargo could not build the rand_peer example: $(last_line "$work/rand-build.err")"
    fi
    ;;
esac
if [ -n "$bin" ]; then
  RAYON_NUM_THREADS=$threads run_peer rust-rand "$bin" "$threads" "$n" "$paths"
fi
exit 0
