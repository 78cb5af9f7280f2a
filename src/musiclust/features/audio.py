"""Audio decoding and audio features.

Decoding: ``soundfile`` (libsndfile: WAV, AU, FLAC, OGG, MP3) with stereo averaged to mono and any sample rate
resampled to 22050 Hz by ``soxr`` at its high-quality setting -- the same steps and resampler as ``librosa.load``, so
the numbers match librosa's.

Feature functions are pure and keyword-only and accept precomputed inputs (librosa's convention): the STFT is computed
once per clip and passed on, never recomputed per feature.
"""

from __future__ import annotations

import numpy as np

from ..errors import MusiclustError

SAMPLE_RATE = 22050
N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128


class AudioDecodeError(MusiclustError):
    """A file that cannot be decoded (reported per file, never fatal for a collection)."""


def decode(path: str, sr: int = SAMPLE_RATE, max_seconds: float | None = None) -> tuple[np.ndarray, dict]:
    """Decode one file to a mono float32 waveform at ``sr``.

    Returns ``(y, info)`` with ``y`` of shape ``(n_samples,)`` and ``info`` holding the original sample rate, channel
    count and decoded duration. Raises `AudioDecodeError` with a one-line reason for unreadable or empty files.
    """
    import soundfile as sf
    import soxr

    try:
        with sf.SoundFile(str(path)) as f:
            orig_sr, channels = f.samplerate, f.channels
            frames = -1 if max_seconds is None else int(np.ceil(max_seconds * orig_sr))
            y = f.read(frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports format errors as RuntimeError/LibsndfileError
        raise AudioDecodeError(f"unreadable audio: {str(exc).splitlines()[0][:200]}") from None
    if y.shape[0] == 0:
        raise AudioDecodeError("file contains no audio frames")
    y = y.mean(axis=1) if channels > 1 else y[:, 0]
    if orig_sr != sr:
        y = soxr.resample(y, orig_sr, sr, quality="HQ").astype(np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise AudioDecodeError("decoded audio contains non-finite samples")
    return y, {"orig_sr": int(orig_sr), "channels": int(channels), "duration_s": y.size / sr}


def power_spectrogram(*, y: np.ndarray, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """|STFT|^2, shape ``(1 + n_fft // 2, n_frames)`` (librosa's defaults: centered, Hann window)."""
    import librosa

    return np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2


def mfcc(*, sr: int = SAMPLE_RATE, S_power: np.ndarray, n_mfcc: int = 20, n_mels: int = N_MELS) -> np.ndarray:
    """MFCCs from a power spectrogram, shape ``(n_mfcc, n_frames)``; equal to ``librosa.feature.mfcc(y=y, sr=sr)``."""
    import librosa

    mel = librosa.feature.melspectrogram(S=S_power, sr=sr, n_mels=n_mels)
    return librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)


def mfcc_stats(*, y: np.ndarray | None = None, sr: int = SAMPLE_RATE, S_power: np.ndarray | None = None,
               n_mfcc: int = 20) -> dict[str, float]:
    """Mean and standard deviation over time of each MFCC: ``2 * n_mfcc`` values (40 by default)."""
    if S_power is None:
        if y is None:
            raise ValueError("mfcc_stats needs y or S_power")
        S_power = power_spectrogram(y=y)
    m = mfcc(sr=sr, S_power=S_power, n_mfcc=n_mfcc)
    out = {f"mfcc{i + 1}_mean": float(v) for i, v in enumerate(m.mean(axis=1))}
    out.update({f"mfcc{i + 1}_std": float(v) for i, v in enumerate(m.std(axis=1))})
    return out


def _mfcc_set(y: np.ndarray, sr: int) -> dict[str, float]:
    return mfcc_stats(sr=sr, S_power=power_spectrogram(y=y))


# Feature sets by name: waveform -> named values. A new feature set is one entry.
FEATURE_SETS = {
    "mfcc": _mfcc_set,
}


def extract_one(path: str, feature_set: str = "mfcc", max_seconds: float | None = None) -> dict:
    """Features of one file as ``{"features": {...}}`` or ``{"error": reason}`` (never raises for bad audio)."""
    try:
        y, info = decode(path, max_seconds=max_seconds)
        return {"features": FEATURE_SETS[feature_set](y, SAMPLE_RATE), "info": info}
    except AudioDecodeError as exc:
        return {"error": str(exc)}


def extract(paths: list[str], feature_set: str = "mfcc", n_jobs: int = -1, progress: bool = True,
            max_seconds: float | None = None) -> tuple[np.ndarray, list[str], list[int], list[dict]]:
    """Extract one feature set from many files in parallel.

    Returns ``(X, columns, kept, skipped)``: ``X`` of shape ``(len(kept), n_features)``, the feature names, the indices
    into ``paths`` that succeeded, and ``{"item": path, "reason": ...}`` for the files that did not.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    if feature_set not in FEATURE_SETS:
        raise MusiclustError(f"unknown audio feature set '{feature_set}'; choose one of {sorted(FEATURE_SETS)}")
    jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(extract_one)(p, feature_set, max_seconds) for p in paths
    )
    results = list(tqdm(jobs, total=len(paths), desc=f"features ({feature_set})", unit="clip", disable=not progress))
    kept, rows, skipped = [], [], []
    for i, res in enumerate(results):
        if "error" in res:
            skipped.append({"item": str(paths[i]), "reason": res["error"]})
        else:
            kept.append(i)
            rows.append(res["features"])
    if not rows:
        raise MusiclustError("no audio file could be decoded; see the skipped list for the reasons")
    columns = list(rows[0])
    X = np.array([[r[c] for c in columns] for r in rows], dtype=np.float64)
    return X, columns, kept, skipped
