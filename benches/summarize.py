"""Summarises a benches/record-cpu.sh folder: medians over runs of HexPylot's and the peers' figures.

Usage: python3 benches/summarize.py DIR   (prints Markdown)
"""
import glob, json, os, re, statistics, sys

d = sys.argv[1]
med = statistics.median


def load(pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(d, pattern)))]


def stream_medians(docs):
    """(kernel, backend) -> (median over runs of GB/s median, median ms, runs, threads)"""
    acc = {}
    for doc in docs:
        for r in doc["stream"]:
            acc.setdefault((r["kernel"], r["backend"]), []).append(r)
    out = {}
    for k, rows in acc.items():
        assert all(r["valid"] for r in rows), f"invalid row in {k}"
        out[k] = (med(r["gbs_median"] for r in rows), med(r["median_s"] for r in rows) * 1e3, len(rows), rows[0]["threads"], rows[0]["n"])
    return out


big = stream_medians(load("stream-2p25-*.json"))
small = stream_medians(load("stream-2p14-*.json"))
mc = {}
for doc in load("mc-*.json"):
    for r in doc["mc"]:
        assert r["valid"], r
        mc.setdefault((r["option"], r["backend"], r["steps"], r["paths"]), []).append(r["paths_per_s"])
peers = {}
for p in sorted(glob.glob(os.path.join(d, "peers-*.jsonl"))):
    for line in open(p):
        j = json.loads(line)
        # Skipped peers (no toolchain) and results that failed the peer's own check are left out.
        if "skipped" in j or j.get("valid") is False:
            continue
        peers.setdefault(j["peer"], []).append(j)

machine = load("devices.json")[0]["machine"]
print(f"Machine: {machine['cpu_model']}, {len(machine['allowed_cpus'])} CPUs, THP {machine['transparent_hugepages']}; "
      f"medians of {max(v[2] for v in big.values())} runs (load in uptime.txt).\n")
# Per-run ratios show the run-to-run noise the medians hide.
ratios = {}
for doc in load("stream-2p25-*.json"):
    g = {(r["kernel"], r["backend"]): r["gbs_median"] for r in doc["stream"]}
    for k in {k for k, _ in g}:
        ratios.setdefault(k, []).append(g[(k, "engine")] / g[(k, "rayon")])
print("| kernel (2^25 f32) | engine GB/s | rayon GB/s | engine / rayon (median of per-run ratios) | per-run range |")
print("|---|---:|---:|---:|---:|")
kernels = ["copy", "scale", "add", "triad", "dot", "nstream"]
for k in kernels:
    e, r = big[(k, "engine")][0], big[(k, "rayon")][0]
    print(f"| {k} | {e:.2f} | {r:.2f} | {med(ratios[k]):.3f} | {min(ratios[k]):.3f}–{max(ratios[k]):.3f} |")
print()
# The CPU peers of benches/peers, as run-cpu-peers.sh tags them.
PEER_NAMES = {"openmp-c": "OpenMP-C peer", "numba": "Numba peer", "rust-rand": "Rust rand + rayon peer"}
et = big[("triad", "engine")][0]
print("| triad, 2^25 f32 | GB/s (median of runs) | engine / peer |")
print("|---|---:|---:|")
print(f"| HexPylot engine | {et:.2f} | |")
print(f"| rayon | {big[('triad', 'rayon')][0]:.2f} | {et / big[('triad', 'rayon')][0]:.3f} |")
for tag, label in PEER_NAMES.items():
    triads = [p["triad_gbs_median"] for p in peers.get(tag, []) if "triad_gbs_median" in p]
    if triads:
        print(f"| {label} | {med(triads):.2f} | {et / med(triads):.3f} |")
# Same-run ratios against the OpenMP peer: each run's engine triad over that run's peer.
omp_ratios = []
for run_file in sorted(glob.glob(os.path.join(d, "stream-2p25-*-run*.json"))):
    run = re.search(r"-run(\d+)\.json$", run_file).group(1)
    peer_file = re.sub(r"stream-2p25-(t\d+)-run\d+\.json$", rf"peers-\1-run{run}.jsonl", run_file)
    if not os.path.exists(peer_file):
        continue
    omp = [json.loads(l) for l in open(peer_file) if '"openmp-c"' in l]
    omp = [j for j in omp if "triad_gbs_median" in j and j.get("valid") is not False]
    engine = [r for r in json.load(open(run_file))["stream"] if (r["kernel"], r["backend"]) == ("triad", "engine")]
    if omp and engine:
        omp_ratios.append(engine[0]["gbs_median"] / omp[0]["triad_gbs_median"])
if omp_ratios:
    print(f"\nEngine triad / OpenMP-C triad, same run: median {med(omp_ratios):.3f}, "
          f"range {min(omp_ratios):.3f}–{max(omp_ratios):.3f} over {len(omp_ratios)} runs.")
# What the --stores auto probe chose, and what it measured (medians over runs).
probes = {}
for doc in load("stream-2p25-*.json"):
    for r in doc["stream"]:
        if r.get("stores"):
            probes.setdefault((r["kernel"], r["backend"]), []).append(r)
if probes:
    print()
    print("| stores, 2^25 f32 | backend | chosen (runs) | probe cached GB/s | probe streaming GB/s |")
    print("|---|---|---|---:|---:|")
    for k in kernels:
        for b in ["engine", "rayon"]:
            rows = probes.get((k, b))
            if not rows:
                continue
            chosen = ", ".join(f"{kind} ×{sum(r['stores'] == kind for r in rows)}"
                               for kind in ["cached", "streaming"] if any(r["stores"] == kind for r in rows))
            pr = [r["store_probe"] for r in rows if r.get("store_probe")]
            c = f"{med(p['cached_gbs'] for p in pr):.2f}" if pr else "-"
            st = f"{med(p['streaming_gbs'] for p in pr):.2f}" if pr else "-"
            print(f"| {k} | {b} | {chosen} | {c} | {st} |")
print()
print("| in cache: triad 2^14 f32 | median time per rep (µs) |")
print("|---|---:|")
for b in ["engine", "rayon"]:
    print(f"| {b} | {small[('triad', b)][1] * 1e3:.2f} |")
print(f"| engine / rayon | {small[('triad', 'engine')][1] / small[('triad', 'rayon')][1]:.3f} |")
print()
print("| Monte Carlo | M paths/s (median of runs) | engine / peer |")
print("|---|---:|---:|")
for (opt, b, steps, paths), v in sorted(mc.items()):
    print(f"| {opt}, {steps} steps, {paths} paths, {b} | {med(v) / 1e6:.1f} | |")
for tag, label in PEER_NAMES.items():
    rates = [p for p in peers.get(tag, []) if "mc_paths_per_s" in p]
    if rates:
        nm = med(p["mc_paths_per_s"] for p in rates)
        e = med(mc[next(k for k in mc if k[0] == "european-call" and k[1] == "engine")])
        print(f"| european-call, {label} (f64, {rates[0]['mc_paths']} paths) | {nm / 1e6:.1f} | {e / nm:.2f} |")
