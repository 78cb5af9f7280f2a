"""Feature-extraction speed, agreement and memory on real GTZAN clips (../shared/data; skipped when absent).

    python benchmarks/bench_features.py [--data ../shared/data] [--n-memory 1000]

Measures, single core (one process, warm: numba kernels compiled and cached first):
  * gtzan57 (one decode, one STFT, shared spectra, exact fast kernels) vs the naive one-librosa-call-per-feature script
    (benchmarks/naive_reference.py), per 30-s clip, and the worst relative difference per feature;
  * mfcc vs librosa.load + librosa.feature.mfcc;
  * the 44.1 kHz clips (resampling path);
then all cores (joblib over processes) and the peak memory of extracting --n-memory clips (the real clips repeated,
cache off for gtzan57, on for logmel so patches stream into a memory-mapped stack).

musicnn (``--musicnn-only`` measures just this part): seconds per 30-s clip of musiclust's path (one decode shared with
the other features, resampled to 16 kHz, the Keras 3 network over patches batched across tracks) against musicnn's own
pipeline on the same clips (``librosa.load(sr=16000)``, its mel spectrogram, the original TF1 graph from the same
checkpoint, one file per session call), on one core and with two worker processes, and the largest difference of the
200-D embeddings; the floor that exact arithmetic puts under any implementation (the network's multiply-adds per
patch, counted from its layers, at this machine's measured float32 matrix-multiply peak on one core and on two
workers), and so the largest speed-up over the original graph that this CPU allows without changing the numbers;
then the peak memory of extracting musicnn from 200 and from --n-musicnn-memory clips (2,000 by default; features
stream back, nothing is held but the 200-D rows).
Writes benchmarks/results/features.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from naive_reference import naive_gtzan57, naive_mfcc40  # noqa: E402

from musiclust.features import audio  # noqa: E402
from musiclust.features.cache import FeatureCache  # noqa: E402
from musiclust.features.engine import extract  # noqa: E402


def workers_peak_rss_mb() -> float:
    """The largest peak resident size among the worker processes, in MB: the live descendants' ``VmHWM`` (Linux
    ``/proc``; joblib keeps its workers alive for reuse, and ``RUSAGE_CHILDREN`` only counts children that have exited
    and been waited for) or an exited child's, whichever is larger."""
    parent_of = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent_of[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):  # a process that ended meanwhile
                pass
    descendants, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier} - descendants
        descendants |= frontier
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    for pid in descendants:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except OSError:
            pass
    return peak_kb / 1024


def compare(fa, fb, paths, repeat):
    """Per-clip best-of-``repeat`` timings of two functions, calls interleaved (a, b, a, b, ...) so that drifting
    machine load affects both alike. Returns the two means over clips."""
    ta, tb = [], []
    for p in paths:
        best_a = best_b = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fa(p)
            best_a = min(best_a, time.perf_counter() - t)
            t = time.perf_counter()
            fb(p)
            best_b = min(best_b, time.perf_counter() - t)
        ta.append(best_a)
        tb.append(best_b)
    return float(np.mean(ta)), float(np.mean(tb))


def fast(feature_set):
    return lambda p: audio.compute(audio.decode(p)[0], feature_set)


def max_rel_err(paths, feature_set, reference):
    worst: dict[str, float] = {}
    for p in paths:
        values, names, _ = audio.compute(audio.decode(p)[0], feature_set)
        ref = reference(p)
        for name, v in zip(names, values):
            err = abs(v - ref[name]) / max(abs(ref[name]), 1e-12)
            worst[name] = max(worst.get(name, 0.0), err)
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data"), help="the shared data folder")
    ap.add_argument("--n-memory", type=int, default=1000, help="clips for the all-cores and memory run")
    ap.add_argument("--n-jobs", type=int, default=os.cpu_count(), help="processes for the all-cores run")
    ap.add_argument("--musicnn-only", action="store_true", help="measure only musicnn (speed, agreement, memory)")
    ap.add_argument("--n-musicnn-memory", type=int, default=2000, help="clips for musicnn's memory run")
    args = ap.parse_args()
    clips = sorted(Path(args.data, "gtzan", "clips").glob("*.wav"))
    clips44 = sorted(Path(args.data, "gtzan", "classical_15s").glob("*.wav"))
    if not clips:
        print(f"no GTZAN clips under {args.data}: nothing to measure")
        return 0
    paths = [str(p) for p in clips]
    if args.musicnn_only:
        return musicnn_bench(paths, args)
    fast("gtzan57")(paths[0])  # compile / load the numba kernels once, like any long-running extraction
    naive_gtzan57(paths[0])

    out: dict = {"cpu_count": os.cpu_count(), "clips": len(paths)}
    t_fast, t_naive = compare(fast("gtzan57"), naive_gtzan57, paths, repeat=2)
    out["gtzan57"] = {"fast_s_per_clip": t_fast, "naive_s_per_clip": t_naive, "speedup": t_naive / t_fast}
    worst = max_rel_err(paths, "gtzan57", naive_gtzan57)
    out["gtzan57"]["max_rel_err"] = max(worst.values())
    out["gtzan57"]["worst_feature"] = max(worst, key=worst.get)
    t_m, t_mref = compare(fast("mfcc"), naive_mfcc40, paths, repeat=9)
    worst_m = max_rel_err(paths, "mfcc", naive_mfcc40)
    out["mfcc"] = {
        "fast_s_per_clip": t_m,
        "librosa_s_per_clip": t_mref,
        "speedup": t_mref / t_m,
        "max_rel_err": max(worst_m.values()),
    }
    if clips44:
        p44 = [str(p) for p in clips44]
        t44, t44n = compare(fast("gtzan57"), naive_gtzan57, p44, repeat=2)
        w44 = max_rel_err(p44, "gtzan57", naive_gtzan57)
        out["gtzan57_44k_15s"] = {
            "fast_s_per_clip": t44,
            "naive_s_per_clip": t44n,
            "speedup": t44n / t44,
            "max_rel_err": max(w44.values()),
        }

    many = [paths[i % len(paths)] for i in range(args.n_memory)]
    for feature_set, use_cache in (("gtzan57", False), ("logmel", True)):
        with tempfile.TemporaryDirectory() as tmp:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t = time.perf_counter()
            # distinct cache keys per repeat (as distinct files would have), so nothing is served from the cache
            sha = [f"bench-{i}" for i in range(len(many))] if use_cache else None
            ex = extract(
                many,
                feature_set,
                n_jobs=args.n_jobs,
                progress=False,
                cache=FeatureCache(tmp) if use_cache else None,
                sha256=sha,
            )
            elapsed = time.perf_counter() - t
            out[f"all_cores_{feature_set}"] = {
                "n_clips": len(many),
                "n_jobs": args.n_jobs,
                "wall_s": elapsed,
                "s_per_clip": elapsed / len(many),
                "shape": list(ex.X.shape),
                "memory_mapped": isinstance(ex.X, np.memmap),
                "peak_rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "peak_rss_main_before_mb": rss_before / 1024,
                "peak_rss_worker_mb": workers_peak_rss_mb(),
            }
            del ex

    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "features.json").write_text(json.dumps(out, indent=2))
    g = out["gtzan57"]
    print(
        f"gtzan57, 1 core: {g['fast_s_per_clip']:.3f} s/clip vs naive {g['naive_s_per_clip']:.3f} s/clip "
        f"= {g['speedup']:.1f}x; max rel. error {g['max_rel_err']:.1e} ({g['worst_feature']})"
    )
    m = out["mfcc"]
    print(
        f"mfcc, 1 core: {m['fast_s_per_clip']:.4f} s/clip vs librosa.load+mfcc {m['librosa_s_per_clip']:.4f} "
        f"= {m['speedup']:.2f}x; max rel. error {m['max_rel_err']:.1e}"
    )
    if "gtzan57_44k_15s" in out:
        h = out["gtzan57_44k_15s"]
        print(
            f"gtzan57 on 44.1 kHz 15-s clips: {h['fast_s_per_clip']:.3f} vs {h['naive_s_per_clip']:.3f} s/clip "
            f"= {h['speedup']:.1f}x; max rel. error {h['max_rel_err']:.1e}"
        )
    for fs in ("gtzan57", "logmel"):
        a = out[f"all_cores_{fs}"]
        print(
            f"{fs}, {a['n_jobs']} processes, {a['n_clips']} clips: {a['wall_s']:.1f} s "
            f"({a['s_per_clip']:.3f} s/clip); peak RSS main {a['peak_rss_main_mb']:.0f} MB, "
            f"largest worker {a['peak_rss_worker_mb']:.0f} MB; output {a['shape']}"
            + (" memory-mapped" if a["memory_mapped"] else "")
        )
    musicnn_bench(paths, args, out)
    return 0


def _ours_per_clip(paths):
    """musiclust's musicnn path, the clips batched together as the engine's jobs batch them (one process)."""
    from musiclust.features import engine

    return engine._work_chunk(paths, [["musicnn"]] * len(paths), [{"musicnn": None}] * len(paths), None)


def _reference_per_clip(paths, ref=None):
    """musicnn's own pipeline: librosa.load at 16 kHz, its mel spectrogram (float16, log10(10000 x + 1)), the
    original graph, one session call per file."""
    import librosa

    from musiclust.features import musicnn

    ref = ref or musicnn.ReferenceGraph()
    out = []
    for p in paths:
        y, _ = librosa.load(p, sr=musicnn.SR)
        # its mel spectrogram and log compression (without its float16 cast, which overflows; see musicnn.log_mel)
        out.append(ref.run(musicnn.patches(musicnn.log_mel(y)))["penultimate"].mean(axis=0))
    return out


def network_flops_per_patch() -> dict[str, int]:
    """Multiply-adds x 2 of one 3-s patch through musicnn, per layer with weights (convolutions and dense layers, from
    the Keras network's own shapes; batch norms, ReLUs and pools are a few per output value and left out), so the
    count is a floor on the work any exact implementation does."""
    from musiclust.features import musicnn

    net = musicnn.network()
    flops = {}
    for layer in net.layers:
        if not layer.weights or not hasattr(layer, "kernel"):
            continue
        kernel = tuple(layer.kernel.shape)  # Conv2D (kh, kw, in, out), Conv1D (k, in, out), Dense (in, out)
        out = tuple(layer.output.shape[1:])  # the output positions x channels
        positions = int(np.prod(out[:-1])) if len(out) > 1 else 1
        flops[layer.name] = 2 * positions * int(np.prod(kernel))
    return flops


def sgemm_gflops(n: int = 2048, repeat: int = 5) -> float:
    """This process's float32 matrix-multiply speed (TensorFlow, as the network runs): best of ``repeat`` n x n
    products, GFLOP/s. In a single-threaded worker, the core's practical peak."""
    from musiclust.logs import import_tensorflow

    tf = import_tensorflow()
    a = tf.random.normal((n, n), seed=0)
    tf.linalg.matmul(a, a).numpy()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        tf.linalg.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def _network_seconds(paths) -> tuple[float, int]:
    """Seconds our network alone takes over the clips' patches (decoded and turned into log-mel patches first, not
    timed), batched as the engine batches them, best of 3; and the number of patches."""
    from musiclust.features import audio, musicnn

    batch = np.concatenate([musicnn.patches(musicnn.log_mel(audio.decode(p, musicnn.SR)[0])) for p in paths])
    musicnn.embed_patches(batch[:16])  # trace the graph outside the timing
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        musicnn.embed_patches(batch)
        best = min(best, time.perf_counter() - t)
    return best, len(batch)


def _pool_worker(fn_name, paths):
    from musiclust.logs import import_tensorflow

    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # a reused worker: already set
        pass
    if fn_name == "sgemm":
        return sgemm_gflops()
    if fn_name == "network":
        return _network_seconds(paths)
    t = time.perf_counter()
    {"ours": _ours_per_clip, "reference": _reference_per_clip}[fn_name](paths)
    return time.perf_counter() - t


def musicnn_bench(paths, args, out=None) -> int:
    """Speed, agreement and memory of musicnn features (see the module docstring); merged into features.json."""
    from joblib import Parallel, delayed

    from musiclust.features import musicnn

    reason = musicnn.available()
    if reason:
        print(f"musicnn not measured: {reason}")
        return 0
    results_path = HERE / "results" / "features.json"
    out = out if out is not None else (json.loads(results_path.read_text()) if results_path.exists() else {})
    res: dict = {"clips": len(paths)}
    from joblib.externals.loky import get_reusable_executor

    # one core: one single-threaded worker process, warmed up on one clip first, best of 3 passes over the clips
    worker = get_reusable_executor(max_workers=1)
    for name in ("ours", "reference"):
        worker.submit(_pool_worker, name, paths[:1]).result()
        best = min(worker.submit(_pool_worker, name, paths).result() for _ in range(3))
        res[f"{name}_1core_s_per_clip"] = best / len(paths)
    # The floor for exact arithmetic: the network's multiply-adds at this core's matrix-multiply peak. A 2x speed-up
    # over the original graph is out of reach of any exact implementation where this floor exceeds half its time.
    res["sgemm_1core_gflops"] = worker.submit(_pool_worker, "sgemm", []).result()
    network_s, n_patches = worker.submit(_pool_worker, "network", paths).result()
    res["network_only_1core_s_per_clip"] = network_s / len(paths)
    worker.shutdown(wait=True)
    # two worker processes, each with half of the clips (x4 so start-up is a small part)
    many = paths * 4
    halves = [many[: len(many) // 2], many[len(many) // 2 :]]
    for name in ("ours", "reference"):
        Parallel(n_jobs=2)(delayed(_pool_worker)(name, h[:1]) for h in halves)  # warm the workers
        t = time.perf_counter()
        Parallel(n_jobs=2)(delayed(_pool_worker)(name, h) for h in halves)
        res[f"{name}_2workers_s_per_clip"] = (time.perf_counter() - t) / len(many)
    # both cores' matrix-multiply peak, measured the same way (two single-threaded workers at once)
    res["sgemm_2workers_gflops"] = sum(Parallel(n_jobs=2)(delayed(_pool_worker)("sgemm", []) for _ in range(2)))
    res["speedup_1core"] = res["reference_1core_s_per_clip"] / res["ours_1core_s_per_clip"]
    res["speedup_2workers"] = res["reference_2workers_s_per_clip"] / res["ours_2workers_s_per_clip"]
    flops = network_flops_per_patch()
    res["network_gflop_per_patch"] = sum(flops.values()) / 1e9
    res["timbral_share_of_flops"] = (flops["conv2d"] + flops["conv2d_1"]) / sum(flops.values())
    patches = n_patches / len(paths)
    res["patches_per_clip"] = patches
    res["exact_floor_1core_s_per_clip"] = patches * res["network_gflop_per_patch"] / res["sgemm_1core_gflops"]
    res["max_exact_speedup_1core"] = res["reference_1core_s_per_clip"] / res["exact_floor_1core_s_per_clip"]
    res["network_share_of_peak_1core"] = res["exact_floor_1core_s_per_clip"] / res["network_only_1core_s_per_clip"]
    res["exact_floor_2workers_s_per_clip"] = patches * res["network_gflop_per_patch"] / res["sgemm_2workers_gflops"]
    res["max_exact_speedup_2workers"] = res["reference_2workers_s_per_clip"] / res["exact_floor_2workers_s_per_clip"]
    ours = np.stack([r["sets"]["musicnn"]["values"] for r in _ours_per_clip(paths)])
    ref = np.stack(_reference_per_clip(paths))
    res["max_abs_diff_penultimate"] = float(np.abs(ours - ref).max())
    from musiclust.features.engine import extract

    for n in (200, args.n_musicnn_memory):
        many = [paths[i % len(paths)] for i in range(n)]
        t = time.perf_counter()
        ex = extract(many, "musicnn", n_jobs=args.n_jobs, progress=False, cache=None)
        res[f"memory_{n}"] = {
            "wall_s": time.perf_counter() - t,
            "shape": list(ex.X.shape),
            "peak_rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_rss_worker_mb": workers_peak_rss_mb(),
        }
        del ex
    out["musicnn"] = res
    results_path.parent.mkdir(exist_ok=True)
    results_path.write_text(json.dumps(out, indent=2))
    print(
        f"musicnn, 1 core: {res['ours_1core_s_per_clip']:.3f} s/clip vs the original graph pipeline "
        f"{res['reference_1core_s_per_clip']:.3f} s/clip = {res['speedup_1core']:.2f}x; two workers "
        f"{res['ours_2workers_s_per_clip']:.3f} vs {res['reference_2workers_s_per_clip']:.3f} s/clip = "
        f"{res['speedup_2workers']:.2f}x; max |difference| of the 200-D embeddings "
        f"{res['max_abs_diff_penultimate']:.1e}"
    )
    print(
        f"musicnn, the floor for exact arithmetic: {res['network_gflop_per_patch']:.2f} GFLOP per patch "
        f"({100 * res['timbral_share_of_flops']:.0f}% in the two timbral convolutions) x {res['patches_per_clip']:.1f} "
        f"patches per clip at this core's float32 matrix-multiply peak ({res['sgemm_1core_gflops']:.0f} GFLOP/s) = "
        f"{res['exact_floor_1core_s_per_clip']:.3f} s/clip: at most {res['max_exact_speedup_1core']:.2f}x the original "
        f"graph pipeline on one core; two workers ({res['sgemm_2workers_gflops']:.0f} GFLOP/s together) "
        f"{res['exact_floor_2workers_s_per_clip']:.3f} s/clip, at most {res['max_exact_speedup_2workers']:.2f}x "
        f"(decoding and the mel spectrogram aside); our network alone "
        f"{res['network_only_1core_s_per_clip']:.3f} s/clip on one core, "
        f"{100 * res['network_share_of_peak_1core']:.0f}% of that peak"
    )
    for n in (200, args.n_musicnn_memory):
        m = res[f"memory_{n}"]
        print(
            f"musicnn, {args.n_jobs} processes, {n} clips: {m['wall_s']:.1f} s; peak RSS main "
            f"{m['peak_rss_main_mb']:.0f} MB, largest worker {m['peak_rss_worker_mb']:.0f} MB; output {m['shape']}"
        )
    # issue 16's goal (not a measurement): at least 2x the original graph's throughput, the same numbers
    for where in ("1core", "2workers"):
        x = res[f"speedup_{where}"]
        print(f"issue 16: musicnn {where} >= 2x the original graph: {x:.2f}x -> {'met' if x >= 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
