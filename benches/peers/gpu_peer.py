"""HexPylot's GPU peers: what a Python user would write for an NVIDIA GPU, with Numba-CUDA and CuPy.

Measures (CUDA events around each run, after a warm-up; medians of 20 runs, 5 for Monte Carlo):
- the STREAM triad a = b + 0.4*c on float32 arrays (3 arrays counted) with a Numba-CUDA grid-stride
  kernel and with a CuPy ElementwiseKernel, median and best GB/s;
- dot(b, c) with CuPy (cuBLAS), GB/s counting 2 arrays;
- European-call Monte Carlo (S0 = K = 100, r = 0.05, sigma = 0.2, T = 1) with a Numba-CUDA kernel
  drawing float32 normals from Numba's xoroshiro128p: paths per second, the price and its standard
  error, held to Black-Scholes (|z| <= 4).
Every result is checked; a wrong one sets "valid": false.

Prints one JSON line: {"peer": "gpu-python", "device", "n", "mc_paths", "numba_triad_gbs_median",
"numba_triad_gbs_best", "cupy_triad_gbs_median", "cupy_triad_gbs_best", "cupy_dot_gbs_median",
"numba_mc_paths_per_s", "mc_price", "mc_se", "mc_reference", "mc_z", "valid"} (the cupy_* fields are
replaced by "cupy_skipped" without CuPy). Without Numba or a CUDA GPU it prints
{"peer": "gpu-python", "skipped": reason}. It exits 0 either way.
Usage: python3 gpu_peer.py [n_elems] [n_paths]   (defaults 2^27 elements = 512 MiB per array, 2^28 paths)
NUMBA_ENABLE_CUDASIM=1 runs it on Numba's CUDA simulator (tiny default sizes, no CuPy), to check it without a GPU.
"""
import json
import math
import os
import sys

PEER = "gpu-python"
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
S0, K, R, SIGMA, T = 100.0, 100.0, 0.05, 0.2, 1.0


def skip(reason):
    print(json.dumps({"peer": PEER, "skipped": reason}))
    sys.exit(0)


try:
    import numpy as np
    from numba import cuda
    from numba.cuda.random import create_xoroshiro128p_states, xoroshiro128p_normal_float32
except Exception as e:  # ImportError, or Numba's CUDA target failing to load
    skip(f"python3 lacks numpy/numba-cuda ({e})")


@cuda.jit
def triad_kernel(a, b, c, s):
    i = cuda.grid(1)
    while i < a.shape[0]:
        a[i] = b[i] + s * c[i]
        i += cuda.gridsize(1)


@cuda.jit
def european_kernel(states, n_paths, s0, k, drift, vol, acc):
    tid = cuda.grid(1)
    s = np.float32(0.0)
    s2 = np.float32(0.0)
    p = tid
    while p < n_paths:
        z = xoroshiro128p_normal_float32(states, tid)
        payoff = max(s0 * math.exp(drift + vol * z) - k, np.float32(0.0))
        s += payoff
        s2 += payoff * payoff
        p += cuda.gridsize(1)
    cuda.atomic.add(acc, 0, np.float64(s))
    cuda.atomic.add(acc, 1, np.float64(s2))


def timed(f, reps, event, elapsed):
    """Sorted seconds of reps runs of f, each between two events."""
    ts = []
    for _ in range(reps):
        start, stop = event(), event()
        start.record()
        f()
        stop.record()
        stop.synchronize()
        ts.append(elapsed(start, stop) / 1e3)
    return sorted(ts)


def rate(amount, seconds):
    """amount per second; None (null) where the clock saw nothing (the simulator's bogus timings)."""
    return amount / seconds if seconds > 0 else None


def numba_timed(f, reps):
    return timed(f, reps, cuda.event, lambda a, b: a.elapsed_time(b))


def black_scholes_call(s0, k, r, sigma, t):
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))
    d1 = (math.log(s0 / k) + (r + 0.5 * sigma * sigma) * t) / (sigma * math.sqrt(t))
    return s0 * cdf(d1) - k * math.exp(-r * t) * cdf(d1 - sigma * math.sqrt(t))


def cupy_figures(n, reps, out):
    try:
        import cupy as cp
    except Exception as e:
        out["cupy_skipped"] = f"no cupy ({e})"
        return True
    event = cp.cuda.Event
    elapsed = cp.cuda.get_elapsed_time
    b = cp.full(n, 0.2, dtype=cp.float32)
    c = cp.full(n, 0.1, dtype=cp.float32)
    a = cp.empty(n, dtype=cp.float32)
    triad = cp.ElementwiseKernel("float32 b, float32 c, float32 s", "float32 a", "a = b + s * c", "hexpylot_triad")
    s = np.float32(0.4)
    triad(b, c, s, a)
    ts = timed(lambda: triad(b, c, s, a), reps, event, elapsed)
    ok = bool(cp.all(cp.abs(a - np.float32(0.24)) <= 1e-6))
    out["cupy_triad_gbs_median"] = rate(3 * 4 * n / 1e9, ts[len(ts) // 2])
    out["cupy_triad_gbs_best"] = rate(3 * 4 * n / 1e9, ts[0])
    cp.dot(b, c)
    holder = {}
    ts = timed(lambda: holder.__setitem__("d", cp.dot(b, c)), reps, event, elapsed)
    exact = float(np.float32(0.2)) * float(np.float32(0.1)) * n
    ok = ok and abs(float(holder["d"]) - exact) <= 1e-3 * exact
    out["cupy_dot_gbs_median"] = rate(2 * 4 * n / 1e9, ts[len(ts) // 2])
    return ok


def main():
    if not SIM and not cuda.is_available():
        skip("no CUDA GPU or driver visible to Numba")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else (1 << 10 if SIM else 1 << 27)
    paths = int(sys.argv[2]) if len(sys.argv) > 2 else (1 << 12 if SIM else 1 << 28)
    reps = 3 if SIM else 20
    if SIM:
        device = "Numba CUDA simulator"
    else:
        name = cuda.get_current_device().name
        device = name.decode() if isinstance(name, bytes) else str(name)
    out = {"peer": PEER, "device": device, "n": n, "mc_paths": paths}

    b = cuda.to_device(np.full(n, 0.2, dtype=np.float32))
    c = cuda.to_device(np.full(n, 0.1, dtype=np.float32))
    a = cuda.device_array(n, dtype=np.float32)
    block = 256
    grid = min((n + block - 1) // block, 4 if SIM else 65535)
    s = np.float32(0.4)
    triad_kernel[grid, block](a, b, c, s)
    cuda.synchronize()
    ts = numba_timed(lambda: triad_kernel[grid, block](a, b, c, s), reps)
    ok = bool(np.all(np.abs(a.copy_to_host() - np.float32(0.24)) <= 1e-6))
    out["numba_triad_gbs_median"] = rate(3 * 4 * n / 1e9, ts[len(ts) // 2])
    out["numba_triad_gbs_best"] = rate(3 * 4 * n / 1e9, ts[0])

    if SIM:
        out["cupy_skipped"] = "simulator"
    else:
        ok = cupy_figures(n, reps, out) and ok

    drift = np.float32((R - 0.5 * SIGMA * SIGMA) * T)
    vol = np.float32(SIGMA * math.sqrt(T))
    # 16 blocks of 256 per SM keep every SM busy whatever the GPU. The simulator seeds its
    # generator states in pure Python (a 2^64-step jump each): few of them there.
    mc_block = 32 if SIM else 256
    mc_grid = 2 if SIM else 16 * cuda.get_current_device().MULTIPROCESSOR_COUNT
    states = create_xoroshiro128p_states(mc_block * mc_grid, seed=7)
    acc = cuda.to_device(np.zeros(2))

    def run():
        acc.copy_to_device(np.zeros(2))
        european_kernel[mc_grid, mc_block](states, paths, np.float32(S0), np.float32(K), drift, vol, acc)

    run()
    cuda.synchronize()
    ts = numba_timed(run, 3 if SIM else 5)
    sums = acc.copy_to_host()
    disc = math.exp(-R * T)
    mean = sums[0] / paths
    se = disc * math.sqrt(max(sums[1] / paths - mean * mean, 0.0) / paths)
    price = disc * mean
    reference = black_scholes_call(S0, K, R, SIGMA, T)
    z = (price - reference) / se if se > 0 else float("inf")
    out.update({"numba_mc_paths_per_s": rate(paths, ts[len(ts) // 2]), "mc_price": price, "mc_se": se,
                "mc_reference": reference, "mc_z": z, "valid": bool(ok and abs(z) <= 4.0)})
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a CUDA error, out of memory: report it as a line, as the other peers do
        print(json.dumps({"peer": PEER, "skipped": f"failed: {type(e).__name__}: {e}"}))
