"""HexPylot's Numba peer: what a Python user would write with Numba, @njit(parallel=True) over NumPy arrays.

Measures, for the thread count in NUMBA_NUM_THREADS (Numba's default: every core):
- the STREAM triad a = b + 0.4*c on float32 arrays (20 timed repetitions after a warm-up; GB/s counts
  3 arrays, as STREAM does), median and best;
- European-call Monte Carlo in float64 (S0 = K = 100, r = 0.05, sigma = 0.2, T = 1): paths per second
  (median of 5 runs after a compiling warm-up), the price and its standard error, held to Black-Scholes
  (|z| <= 4, else "valid": false).

Prints one JSON line: {"peer": "numba", "threads", "n", "triad_gbs_median", "triad_gbs_best", "mc_paths", "mc_paths_per_s",
"mc_price", "mc_se", "mc_reference", "mc_z", "valid"}; without numba/numpy it prints
{"peer": "numba", "skipped": reason} and exits 0.
Usage: python3 numba_peer.py [n_elems] [n_paths]   (defaults 2^25, 2^24)
"""
import json
import math
import sys
import time

S0, K, R, SIGMA, T = 100.0, 100.0, 0.05, 0.2, 1.0
CHUNKS = 256  # fixed, so that the price does not depend on the thread count
TRIAD_REPS, MC_REPS = 20, 5

try:
    import numpy as np
    from numba import get_num_threads, njit, prange
except ImportError as e:  # the peer is optional: say so, do not fail
    print(json.dumps({"peer": "numba", "skipped": f"python3 lacks numba/numpy ({e})"}))
    sys.exit(0)


@njit(parallel=True)
def triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


@njit(parallel=True)
def european_call(n_paths, s0, k, r, sigma, t, seed):
    """Discounted price and standard error; chunk j draws from its own seeded stream."""
    sums = np.zeros(CHUNKS)
    squares = np.zeros(CHUNKS)
    drift = (r - 0.5 * sigma * sigma) * t
    vol = sigma * math.sqrt(t)
    per = (n_paths + CHUNKS - 1) // CHUNKS
    for j in prange(CHUNKS):
        # One seed per chunk and per run (seed * odd constant + j: no two (seed, chunk) pairs collide
        # for small seeds, unlike seed + j).
        np.random.seed((seed * 0x9E3779B1 + j) & 0xFFFFFFFF)
        s = 0.0
        s2 = 0.0
        for _ in range(j * per, min(n_paths, (j + 1) * per)):
            payoff = max(s0 * math.exp(drift + vol * np.random.standard_normal()) - k, 0.0)
            s += payoff
            s2 += payoff * payoff
        sums[j] = s
        squares[j] = s2
    disc = math.exp(-r * t)
    mean = sums.sum() / n_paths
    var = max(squares.sum() / n_paths - mean * mean, 0.0)
    return disc * mean, disc * math.sqrt(var / n_paths)


def black_scholes_call(s0, k, r, sigma, t):
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))
    d1 = (math.log(s0 / k) + (r + 0.5 * sigma * sigma) * t) / (sigma * math.sqrt(t))
    return s0 * cdf(d1) - k * math.exp(-r * t) * cdf(d1 - sigma * math.sqrt(t))


def timed(f, reps):
    """Sorted wall-clock seconds of reps calls of f."""
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 25
    paths = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 24
    if n <= 0 or paths <= 1:
        sys.exit("usage: numba_peer.py [n_elems > 0] [n_paths > 1]")
    a = np.zeros(n, dtype=np.float32)
    b = np.full(n, 0.2, dtype=np.float32)
    c = np.full(n, 0.1, dtype=np.float32)
    s = np.float32(0.4)
    triad(a, b, c, s)  # compiles
    ts = timed(lambda: triad(a, b, c, s), TRIAD_REPS)
    triad_ok = bool(np.all(np.abs(a - np.float32(0.24)) <= 1e-6))
    bytes_moved = 3 * 4 * n

    european_call(1000, S0, K, R, SIGMA, T, 1)  # compiles
    mts = timed(lambda: european_call(paths, S0, K, R, SIGMA, T, 7), MC_REPS)
    price, se = european_call(paths, S0, K, R, SIGMA, T, 7)
    reference = black_scholes_call(S0, K, R, SIGMA, T)
    z = (price - reference) / se if se > 0 else float("inf")
    print(json.dumps({
        "peer": "numba", "threads": get_num_threads(), "n": n,
        "triad_gbs_median": bytes_moved / ts[len(ts) // 2] / 1e9, "triad_gbs_best": bytes_moved / ts[0] / 1e9,
        "mc_paths": paths, "mc_paths_per_s": paths / mts[len(mts) // 2],
        "mc_price": price, "mc_se": se, "mc_reference": reference, "mc_z": z,
        "valid": bool(triad_ok and abs(z) <= 4.0),
    }))


if __name__ == "__main__":
    main()
