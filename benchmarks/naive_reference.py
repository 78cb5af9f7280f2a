"""The common Kaggle-style GTZAN feature script: one librosa call per feature, each from the waveform.

This is the reference the fast `gtzan57` extractor is checked and timed against (benchmarks/bench_features.py and
tests/test_features.py). It is deliberately written the way the popular notebooks write it.
"""

from __future__ import annotations

import librosa
import numpy as np


def naive_gtzan57(path: str) -> dict[str, float]:
    y, sr = librosa.load(path)  # 22050 Hz mono
    out: dict[str, float] = {}
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    out["chroma_stft_mean"], out["chroma_stft_var"] = float(chroma.mean()), float(chroma.var())
    rms = librosa.feature.rms(y=y)
    out["rms_mean"], out["rms_var"] = float(rms.mean()), float(rms.var())
    cent = librosa.feature.spectral_centroid(y=y, sr=sr)
    out["spectral_centroid_mean"], out["spectral_centroid_var"] = float(cent.mean()), float(cent.var())
    bw = librosa.feature.spectral_bandwidth(y=y, sr=sr)
    out["spectral_bandwidth_mean"], out["spectral_bandwidth_var"] = float(bw.mean()), float(bw.var())
    roll = librosa.feature.spectral_rolloff(y=y, sr=sr)
    out["rolloff_mean"], out["rolloff_var"] = float(roll.mean()), float(roll.var())
    zcr = librosa.feature.zero_crossing_rate(y)
    out["zero_crossing_rate_mean"], out["zero_crossing_rate_var"] = float(zcr.mean()), float(zcr.var())
    harm, perc = librosa.effects.hpss(y)
    out["harmony_mean"], out["harmony_var"] = float(harm.mean()), float(harm.var())
    out["perceptr_mean"], out["perceptr_var"] = float(perc.mean()), float(perc.var())
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    out["tempo"] = float(np.atleast_1d(tempo)[0])
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    for i in range(20):
        out[f"mfcc{i + 1}_mean"], out[f"mfcc{i + 1}_var"] = float(mfcc[i].mean()), float(mfcc[i].var())
    return out


def naive_mfcc40(path: str) -> dict[str, float]:
    """``librosa.load`` + ``librosa.feature.mfcc``: the reference for the `mfcc` feature set."""
    y, sr = librosa.load(path)
    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    out = {f"mfcc{i + 1}_mean": float(v) for i, v in enumerate(m.mean(axis=1))}
    out.update({f"mfcc{i + 1}_std": float(v) for i, v in enumerate(m.std(axis=1))})
    return out
