"""The transfer ConvVAE's musicnn front end: frozen (what `convvae_musicnn` does) vs fine-tuned, measured.

    python benchmarks/bench_finetune.py [--sets emotify hybrid] [--seeds 0 1 2] [--epochs 6] [--patches 2]

Both variants are the same network, trained with the same budget on the same real clips; the only difference is
whether the front end's convolution kernels (musicnn's timbral and temporal filters, ~350 k weights) receive
gradients. The encoder reads one 3-s musicnn patch (187 log-mel frames), runs musicnn's front end on it (its batch
norms frozen in inference mode), max-pools the 561 features over 4 frames (46 steps, as `musicnn.frame_sequences`)
and encodes them with the toolkit's `networks.sequence_encoder`; the decoder (`networks.conv_decoder`) reconstructs the
184 standardized log-mel frames under those steps, with the calibrated (sigma-VAE) likelihood and free nats of the
toolkit's `VAE`. A track's latent is the mean over its patches of the mean over steps of q(z|x)'s means, as in the
toolkit. Each epoch draws ``--patches`` random patches of each training track (90%); the fine-tuned front end gets a
learning rate 10x smaller than the rest (Howard & Ruder 2018's discriminative fine-tuning). Scores: K-Means
(k = classes, 10 inits) NMI of the track latents against each set's genre label (all tracks), the held-out 10%'s
reconstruction error, and the training seconds per seed on one core.

Writes benchmarks/results/finetune.json and prints per set: mean ± std over seeds, per-seed paired difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))

PATCHES_PER_TRACK = 10  # the first 30 s, as the toolkit's musicnn sequences
STEPS, POOL = 46, 4  # musicnn.STEPS_PER_PATCH, musicnn.FRAME_POOL
FT_LR_FACTOR = 0.1


def _sets() -> dict:
    import pandas as pd

    out = {}
    emo = SHARED / "emotify_dev" / "clips.csv"
    if emo.exists():
        t = pd.read_csv(emo)
        out["emotify"] = ([str(SHARED / "emotify_dev" / p) for p in t["audio_file"]], t["genre"].astype(str).to_numpy())
    hyb = SHARED / "hybrid_songs" / "songs.csv"
    if hyb.exists():
        t = pd.read_csv(hyb)
        out["hybrid"] = (
            [str(SHARED / "hybrid_songs" / p) for p in t["audio_file"]],
            t["genre_tag"].astype(str).to_numpy(),
        )
    return out


def log_mel_patches(paths: list[str]) -> np.ndarray:
    """``(n_tracks, 10, 187, 96)`` musicnn log-mel patches (a shorter track repeats its patches)."""
    from musiclust.features import audio, musicnn

    out = []
    for p in paths:
        y, info = audio.read(p)
        pt = musicnn.patches(musicnn.log_mel(audio.resample(y, info["orig_sr"], musicnn.SR)))
        reps = -(-PATCHES_PER_TRACK // len(pt))
        out.append(np.concatenate([pt] * reps)[:PATCHES_PER_TRACK])
    return np.stack(out).astype(np.float32)


def build(fine_tune: bool, latent_dim: int, seed: int, feat_mean: np.ndarray, feat_std: np.ndarray):
    import keras
    from keras import layers

    from musiclust.features import musicnn
    from musiclust.models import networks
    from musiclust.models.base import FREE_NATS
    from musiclust.models.vae import VAE

    keras.utils.set_random_seed(seed)
    net = musicnn.build_network()  # a fresh copy: fine-tuning changes its weights
    front = keras.Model(net.input, net.get_layer("front_end").output, name="musicnn_front_end")
    for layer in front.layers:
        # only the convolutions learn; batch norms keep musicnn's statistics (trainable=False = inference mode)
        layer.trainable = fine_tune and isinstance(layer, layers.Conv2D)
    x = keras.Input((musicnn.PATCH_FRAMES, musicnn.N_MELS), name="patch")
    f = front(x)  # (b, 187, 561)
    f = layers.Lambda(lambda v: v[:, : STEPS * POOL], name="frames_used")(f)
    f = layers.Reshape((STEPS, POOL, musicnn.FRONT_END_DIM))(f)
    f = layers.Lambda(lambda v: keras.ops.max(v, axis=2), name="pool4")(f)
    f = layers.Lambda(lambda v: (v - feat_mean) / feat_std, name="standardize")(f)  # the frozen features' stats
    f = layers.Permute((2, 1))(f)  # (b, 561, 46)
    seq = networks.sequence_encoder((musicnn.FRONT_END_DIM, STEPS), latent_dim, name="sequence_encoder")
    z_mean, z_log_var = seq(f)
    encoder = keras.Model(x, [z_mean, z_log_var], name="audio_encoder")
    decoder = networks.conv_decoder((musicnn.N_MELS, STEPS * POOL), latent_dim, name="audio_decoder")
    model = VAE(
        {"audio": encoder},
        {"audio": decoder},
        latent_dim * STEPS,
        kl_warmup_epochs=2,
        seed=seed,
        likelihood="calibrated",
        encoder_inputs={"audio": "patch"},
        free_nats=FREE_NATS,
    )
    return model, front


def train_and_score(patches, labels, fine_tune: bool, seed: int, epochs: int, per_track: int, latent_dim: int) -> dict:
    import keras
    import tensorflow as tf
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from musiclust.features import musicnn
    from musiclust.models.vae import KLWarmup

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per job: the timing is per core
    except RuntimeError:  # a reused worker: already set
        pass
    n = len(patches)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(0.1 * n))
    val_idx, train_idx = order[:n_val], order[n_val:]
    frames = patches[:, :, : STEPS * POOL]  # (n, 10, 184, 96): what the decoder reconstructs
    mel_mean, mel_std = float(frames[train_idx].mean()), float(frames[train_idx].std())
    # the frozen front end's feature statistics on the training tracks (standardizes the encoder input, as the
    # toolkit's transfer ConvVAE does with its cached features)
    fwd = musicnn._compiled_forward("MSD_musicnn")
    feats = []
    for i in train_idx:
        fe = np.asarray(fwd(patches[i])["front_end"])[:, : STEPS * POOL]
        feats.append(fe.reshape(-1, STEPS, POOL, musicnn.FRONT_END_DIM).max(axis=2).reshape(-1, musicnn.FRONT_END_DIM))
    feats = np.concatenate(feats)
    feat_mean, feat_std = feats.mean(axis=0).astype(np.float32), (feats.std(axis=0) + 1e-6).astype(np.float32)

    model, front = build(fine_tune, latent_dim, seed, feat_mean, feat_std)
    front_vars = {id(v) for v in front.trainable_weights}

    def batches(idx, draws, batch=32, seed_=0):
        r = np.random.default_rng(seed_)
        pairs = np.array([(t, p) for t in idx for p in r.choice(PATCHES_PER_TRACK, draws, replace=False)])
        pairs = pairs[r.permutation(len(pairs))]
        for s in range(0, len(pairs), batch):
            b = pairs[s : s + batch]
            x = patches[b[:, 0], b[:, 1]]
            y = (frames[b[:, 0], b[:, 1]] - mel_mean) / mel_std
            yield {"patch": x, "audio": np.transpose(y, (0, 2, 1)).astype(np.float32)}

    opt_new = keras.optimizers.Adam(1e-3)
    opt_front = keras.optimizers.Adam(1e-3 * FT_LR_FACTOR)
    warm = KLWarmup(2)
    warm.set_model(model)

    @tf.function(reduce_retracing=True, autograph=False)
    def step(data):
        with tf.GradientTape() as tape:
            loss, recon, kl = model.compute_losses(data, training=True)
        variables = model.trainable_weights
        grads = tape.gradient(loss, variables)
        new = [(g, v) for g, v in zip(grads, variables) if id(v) not in front_vars and g is not None]
        ft = [(g, v) for g, v in zip(grads, variables) if id(v) in front_vars and g is not None]
        opt_new.apply_gradients(new)
        if ft:
            opt_front.apply_gradients(ft)
        return loss

    t0 = time.perf_counter()
    for epoch in range(epochs):
        warm.on_epoch_begin(epoch)
        for data in batches(train_idx, per_track, seed_=seed * 1000 + epoch):
            step({k: tf.constant(v) for k, v in data.items()})
    train_s = time.perf_counter() - t0

    @tf.function(reduce_retracing=True, autograph=False)
    def encode(x):
        return model.encoders["audio"](x, training=False)[0]

    Z = np.stack(
        [
            np.asarray(encode(tf.constant(patches[i]))).reshape(PATCHES_PER_TRACK, STEPS, -1).mean(axis=(0, 1))
            for i in range(n)
        ]
    )
    nmi = [
        normalized_mutual_info_score(
            labels,
            KMeans(len(np.unique(labels)), n_init=10, random_state=s).fit_predict((Z - Z.mean(0)) / (Z.std(0) + 1e-9)),
        )
        for s in range(3)
    ]
    errs = []
    for data in batches(val_idx, PATCHES_PER_TRACK, seed_=7):
        mu, _ = model.encode_distribution({"patch": tf.constant(data["patch"])})
        rec = np.asarray(model.decode(mu)["audio"])
        errs.append(((rec - data["audio"]) ** 2).mean(axis=(1, 2)) * mel_std**2)
    return {"nmi": float(np.mean(nmi)), "val_mse": float(np.concatenate(errs).mean()), "train_s": train_s}


def _job(set_name, fine_tune, seed, args):
    from musiclust.logs import import_tensorflow

    import_tensorflow()
    paths, labels = _sets()[set_name]
    patches = np.load(args.cache / f"{set_name}.npy", mmap_mode="r")
    return (
        set_name,
        fine_tune,
        seed,
        train_and_score(np.asarray(patches), labels, fine_tune, seed, args.epochs, args.patches, args.latent_dim),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["emotify", "hybrid"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--patches", type=int, default=2, help="random patches per training track per epoch")
    ap.add_argument("--latent-dim", type=int, default=16)
    ap.add_argument("--n-jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    from joblib import Parallel, delayed

    from musiclust.features import musicnn

    reason = musicnn.available()
    if reason:
        print(f"not measured: {reason}")
        return 0
    sets = _sets()
    missing = [s for s in args.sets if s not in sets]
    if missing:
        print(f"not measured: {missing} not found under {SHARED}")
    args.sets = [s for s in args.sets if s in sets]
    if not args.sets:
        return 0
    with tempfile.TemporaryDirectory() as tmp:  # the clips' patches, memory-mapped by the jobs (not kept)
        args.cache = Path(tmp)
        for s in args.sets:
            np.save(args.cache / f"{s}.npy", log_mel_patches(sets[s][0]))
        jobs = [(s, ft, seed) for s in args.sets for seed in args.seeds for ft in (True, False)]
        out = Parallel(n_jobs=args.n_jobs)(delayed(_job)(s, ft, seed, args) for s, ft, seed in jobs)
    rows = [{"set": s, "fine_tune": ft, "seed": seed, **r} for s, ft, seed, r in out]
    summary = {}
    for s in args.sets:
        by = {ft: {r["seed"]: r for r in rows if r["set"] == s and r["fine_tune"] == ft} for ft in (True, False)}
        diff = np.array([by[True][k]["nmi"] - by[False][k]["nmi"] for k in args.seeds])
        summary[s] = {
            name: {
                m: (float(np.mean([r[m] for r in by[ft].values()])), float(np.std([r[m] for r in by[ft].values()])))
                for m in ("nmi", "val_mse", "train_s")
            }
            for name, ft in (("fine_tuned", True), ("frozen", False))
        }
        summary[s]["nmi_paired_difference"] = (float(diff.mean()), float(diff.std()), int((diff > 0).sum()))
        f, z = summary[s]["fine_tuned"], summary[s]["frozen"]
        print(
            f"{s}: NMI fine-tuned {f['nmi'][0]:.3f} ± {f['nmi'][1]:.3f} vs frozen {z['nmi'][0]:.3f} ± {z['nmi'][1]:.3f}"
            f" (paired {diff.mean():+.3f} ± {diff.std():.3f}, better on {(diff > 0).sum()}/{len(diff)} seeds); "
            f"held-out squared error {f['val_mse'][0]:.3f} vs {z['val_mse'][0]:.3f} (log10 units^2); "
            f"training {f['train_s'][0]:.0f} s vs {z['train_s'][0]:.0f} s per seed"
        )
    settings = {k: v for k, v in vars(args).items() if k != "cache"}
    (HERE / "results" / "finetune.json").write_text(
        json.dumps({"settings": settings, "rows": rows, "summary": summary}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
