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


SILENCE_PEAK = 2.0**-15  # one step of 16-bit audio (-90.3 dBFS): a file whose every sample is quieter is silent


class AudioDecodeError(MusiclustError):
    """A file that cannot be decoded (reported per file, never fatal for a collection)."""


def read(path: str, max_seconds: float | None = None) -> tuple[np.ndarray, dict]:
    """Decode one file to a mono float32 waveform at its *own* sample rate (stereo averaged), ``(y, info)``.

    Every analysis then resamples this one decoded waveform to the rate it needs (22050 Hz for the spectral features,
    16 kHz for musicnn), so a file is decoded once. Raises `AudioDecodeError` with a one-line reason.
    """
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            orig_sr, channels = f.samplerate, f.channels
            frames = -1 if max_seconds is None else int(np.ceil(max_seconds * orig_sr))
            y = f.read(frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports format errors as RuntimeError/LibsndfileError
        from ..audio_formats import unreadable_reason

        raise AudioDecodeError(f"unreadable audio: {unreadable_reason(path, exc)}") from None
    if y.shape[0] == 0:
        raise AudioDecodeError("file contains no audio frames")
    # Digital silence (a failed rip or export) decodes fine but has no timbre: its MFCCs are all log(floor), an outlier
    # that would form a cluster of its own. Quieter than one 16-bit step everywhere counts as silent.
    if np.abs(y).max() < SILENCE_PEAK:  # (NaN samples compare False here and are reported by `resample`)
        seconds = y.shape[0] / orig_sr
        raise AudioDecodeError(f"silent: all {seconds:.1f} s of audio are below -90 dBFS (one 16-bit step)")
    y = y.mean(axis=1) if channels > 1 else y[:, 0]
    # non-finite samples are caught by `resample`, which every analysis goes through
    return np.ascontiguousarray(y, dtype=np.float32), {"orig_sr": int(orig_sr), "channels": int(channels)}


def resample(y: np.ndarray, orig_sr: int, sr: int) -> np.ndarray:
    """``y`` at ``sr``: soxr at its high-quality setting (librosa.load's default resampler), float32."""
    import soxr

    if orig_sr != sr:
        y = soxr.resample(y, orig_sr, sr, quality="HQ")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise AudioDecodeError("decoded audio contains non-finite samples")
    return y


def decode(path: str, sr: int = SAMPLE_RATE, max_seconds: float | None = None) -> tuple[np.ndarray, dict]:
    """Decode one file to a mono float32 waveform at ``sr``.

    Returns ``(y, info)`` with ``y`` of shape ``(n_samples,)`` and ``info`` holding the original sample rate, channel
    count and decoded duration. Raises `AudioDecodeError` with a one-line reason for unreadable or empty files.
    """
    y, info = read(path, max_seconds)
    y = resample(y, info["orig_sr"], sr)
    return y, {**info, "duration_s": y.size / sr}


class ClipSpectra:
    """Everything derived from one clip's single STFT, computed on first use and shared by every feature.

    ``y``: mono waveform ``(n_samples,)`` at ``sr``. Attributes (shapes with ``F = 1 + n_fft // 2`` bins and
    ``T`` frames): ``stft`` complex ``(F, T)``; ``magnitude`` and ``power`` ``(F, T)``; ``mel_power`` ``(n_mels, T)``;
    ``log_mel`` (dB, ``(n_mels, T)``). Parameters are librosa's defaults, so features equal librosa's own.
    """

    def __init__(
        self,
        y: np.ndarray,
        sr: int = SAMPLE_RATE,
        n_fft: int = N_FFT,
        hop_length: int = HOP_LENGTH,
        n_mels: int = N_MELS,
    ):
        self.y, self.sr, self.n_fft, self.hop_length, self.n_mels = y, sr, n_fft, hop_length, n_mels
        self._cache: dict[str, np.ndarray] = {}

    def _get(self, name, compute):
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    @property
    def stft(self) -> np.ndarray:
        from .kernels import stft_frames

        # librosa.stft's numbers and layout: (F, T) over (T, F)-contiguous memory, so `.T` is a contiguous view
        return self._get("stft", lambda: stft_frames(self.y, n_fft=self.n_fft, hop_length=self.hop_length).T)

    @property
    def magnitude(self) -> np.ndarray:
        return self._get("magnitude", lambda: np.abs(self.stft))

    @property
    def power(self) -> np.ndarray:
        return self._get("power", lambda: self.magnitude**2)

    @property
    def mel_power(self) -> np.ndarray:
        from .kernels import mel_basis

        # The filter bank is built once per process (librosa.feature.melspectrogram rebuilds it on every call);
        # the product is librosa's own einsum, which keeps the STFT's memory layout (the DCT behind the MFCCs then
        # runs along contiguous memory) and gives librosa's exact numbers.
        return self._get(
            "mel_power",
            lambda: np.einsum(
                "...ft,mf->...mt", self.power, mel_basis(self.sr, self.n_fft, self.n_mels), optimize=True
            ),
        )

    @property
    def log_mel(self) -> np.ndarray:
        import librosa

        return self._get("log_mel", lambda: librosa.power_to_db(self.mel_power))

    def mfcc(self, n_mfcc: int = 20) -> np.ndarray:
        """``(n_mfcc, T)``, equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)``."""
        import librosa

        return self._get(f"mfcc{n_mfcc}", lambda: librosa.feature.mfcc(S=self.log_mel, n_mfcc=n_mfcc))


def _mean_std(m: np.ndarray, prefix: str) -> dict[str, float]:
    out = {f"{prefix}{i + 1}_mean": float(v) for i, v in enumerate(m.mean(axis=1))}
    out.update({f"{prefix}{i + 1}_std": float(v) for i, v in enumerate(m.std(axis=1))})
    return out


def mfcc_set(c: ClipSpectra) -> dict[str, float]:
    """``mfcc``: 20 MFCC mean + std over time (40-D), the original project's audio features."""
    return _mean_std(c.mfcc(20), "mfcc")


def mfcc_delta_set(c: ClipSpectra) -> dict[str, float]:
    """``mfcc_delta``: ``mfcc`` plus mean + std of the first-order deltas (80-D)."""
    import librosa

    m = c.mfcc(20)
    width = min(9, m.shape[1] - (1 - m.shape[1] % 2))  # delta needs an odd width no larger than the frame count
    delta = librosa.feature.delta(m, width=max(3, width)) if m.shape[1] >= 3 else np.zeros_like(m)
    return {**mfcc_set(c), **_mean_std(delta, "mfcc_delta")}


def gtzan57_set(c: ClipSpectra) -> dict[str, float]:
    """``gtzan57``: the Kaggle GTZAN feature set with its column names (57 values; the CSV's ``length`` is not a
    feature). Mean and variance over frames of chroma_stft, RMS, spectral centroid, bandwidth, rolloff,
    zero-crossing rate; mean and variance of the harmonic and percussive waveforms (HPSS); tempo; 20 MFCC mean and
    variance. Every spectral feature comes from the clip's one STFT; HPSS masks that same STFT instead of taking its
    own; tempo uses the onset envelope of the shared log-mel spectrogram, and skips beat_track's beat positions,
    which the feature never used. The numbers equal the one-call-per-feature reference (benchmarks/naive_reference.py).
    """
    import librosa

    from . import kernels

    y, sr = c.y, c.sr
    out: dict[str, float] = {}

    def mv(name, a):
        out[f"{name}_mean"], out[f"{name}_var"] = float(np.mean(a)), float(np.var(a))

    tuning = kernels.estimate_tuning(c.power.T, sr=sr, n_fft=c.n_fft)
    mv("chroma_stft", librosa.feature.chroma_stft(S=c.power, sr=sr, tuning=tuning))
    mv("rms", kernels.rms(y))  # time-domain frames, as the reference computes it
    shape = kernels.spectral_shape(c.magnitude, sr=sr, n_fft=c.n_fft)
    mv("spectral_centroid", shape["centroid"])
    mv("spectral_bandwidth", shape["bandwidth"])
    mv("rolloff", shape["rolloff"])
    mv("zero_crossing_rate", kernels.zero_crossing_rate(y))
    # HPSS in the (frames, bins) layout, in which the spectra are stored: c.stft.T is a view, not a copy
    harm_stft = kernels.harmonic_stft(c.stft.T, S_tf=c.magnitude.T)
    harm = kernels.istft_frames(harm_stft, length=len(y), n_fft=c.n_fft, hop_length=c.hop_length)
    mv("harmony", harm)
    # The masks sum to one, so the percussive waveform is the STFT round trip of y minus the harmonic one;
    # the round trip is y itself to float rounding (Hann window, hop n_fft/4), which saves a second inverse STFT.
    mv("perceptr", y - harm)
    onset = librosa.onset.onset_strength(S=c.log_mel, sr=sr, aggregate=np.median)  # as beat_track computes it
    # tempo's default aggregate is the mean over frames, so only the mean tempogram is needed
    win_length = int(librosa.time_to_frames(8.0, sr=sr, hop_length=c.hop_length))  # tempo's ac_size=8 s
    tg = kernels.mean_tempogram(onset, win_length)
    out["tempo"] = float(np.atleast_1d(librosa.feature.tempo(tg=tg, sr=sr, hop_length=c.hop_length))[0])
    m = c.mfcc(20)
    for i in range(m.shape[0]):
        mv(f"mfcc{i + 1}", m[i])
    return out


LOGMEL_FRAMES = 128
LOGMEL_SECONDS = 30.0


def logmel_patch(c: ClipSpectra, n_frames: int = LOGMEL_FRAMES, seconds: float = LOGMEL_SECONDS) -> np.ndarray:
    """``logmel``: a fixed-size log-mel patch ``(128 mel bands, 128 frames)`` float32 covering ``seconds`` of audio.

    The clip's 128-band log-mel spectrogram (hop 512, about 1292 frames for 30 s) is cut or padded (with the
    spectrogram's floor, i.e. silence) to exactly ``seconds``, then averaged over time into ``n_frames`` blocks of
    about 0.23 s each, so a ConvVAE sees the whole excerpt at a CPU-friendly size.
    """
    target = int(np.ceil(seconds * c.sr / c.hop_length))
    S = c.log_mel
    if S.shape[1] < target:
        S = np.pad(S, ((0, 0), (0, target - S.shape[1])), constant_values=float(S.min()))
    S = S[:, :target]
    edges = np.linspace(0, target, n_frames + 1).round().astype(int)
    return np.add.reduceat(S, edges[:-1], axis=1) / np.diff(edges)[None, :]


LOGMEL_FULL_FRAMES = int(np.ceil(LOGMEL_SECONDS * SAMPLE_RATE / HOP_LENGTH))  # 1292 frames of 23 ms


def logmel_full(c: ClipSpectra, seconds: float = LOGMEL_SECONDS) -> np.ndarray:
    """``logmel_full``: the 128-band log-mel spectrogram at the full frame rate (hop 512, 23 ms), ``(128, 1292)``
    float32 for ``seconds`` = 30 s, cut or padded with its floor (silence). The ConvVAE trains on 128-frame (3-s)
    crops of it, where onsets and harmonics are still visible."""
    target = int(np.ceil(seconds * c.sr / c.hop_length))
    S = c.log_mel
    if S.shape[1] < target:
        S = np.pad(S, ((0, 0), (0, target - S.shape[1])), constant_values=float(S.min()))
    return np.ascontiguousarray(S[:, :target], dtype=np.float32)


# Feature sets by name: ClipSpectra -> named values (vectors) or an array (patches). A new set is one entry.
FEATURE_SETS = {
    "mfcc": mfcc_set,
    "mfcc_delta": mfcc_delta_set,
    "gtzan57": gtzan57_set,
    "logmel": logmel_patch,
    "logmel_full": logmel_full,
}
PATCH_SETS = {"logmel", "logmel_full"}

# Sets computed by a pretrained network over batches of clips (features.musicnn), not from `ClipSpectra`:
# name -> (checkpoint, output). Every output of a network is computed (and cached) whenever one of its sets is asked
# for: the tags and pools cost nothing more than the embedding.
NETWORK_SETS = {
    "musicnn": ("MSD_musicnn", "penultimate"),
    "musicnn_tags": ("MSD_musicnn", "tags"),
    "musicnn_pools": ("MSD_musicnn", "pools"),
    "musicnn_mtt": ("MTT_musicnn", "penultimate"),
    "musicnn_mtt_tags": ("MTT_musicnn", "tags"),
    "musicnn_mtt_pools": ("MTT_musicnn", "pools"),
    # patch sets for the transfer ConvVAE: the frozen front end's features every 4 frames, and the frames they cover
    "musicnn_frontend": ("MSD_musicnn", "frontend"),
    "musicnn_logmel": ("MSD_musicnn", "logmel"),
}
PATCH_SETS |= {"musicnn_frontend", "musicnn_logmel"}


def _network_set(c):  # placeholder entry: network sets are computed by the engine over batches of clips
    raise MusiclustError("network feature sets are computed by features.engine, not per clip")


FEATURE_SETS.update({name: _network_set for name in NETWORK_SETS})


def network_of(feature_set: str) -> str | None:
    """The checkpoint a network set comes from, or None for a spectral set."""
    return NETWORK_SETS[feature_set][0] if feature_set in NETWORK_SETS else None


def network_sets_of(checkpoint: str) -> list[str]:
    return [name for name, (ckpt, _) in NETWORK_SETS.items() if ckpt == checkpoint]


def network_columns(feature_set: str) -> list[str] | None:
    """Column names of a network set: ``musicnn1..200``, ``tag:<name>``, ``max_pool1..753`` + ``mean_pool1..753``."""
    from . import musicnn

    checkpoint, output = NETWORK_SETS[feature_set]
    base = feature_set.removesuffix("_tags").removesuffix("_pools")
    if output == "penultimate":
        return [f"{base}{i + 1}" for i in range(musicnn.PENULTIMATE_DIM)]
    if output == "tags":
        return [f"tag:{t}" for t in musicnn.CHECKPOINTS[checkpoint].tags]
    if output in ("frontend", "logmel"):
        return None
    return [f"{kind}_pool{i + 1}" for kind in ("max", "mean") for i in range(musicnn.POOL_DIM)]


# The shape of one clip's values in each set: a cache entry of any other shape is a miss.
FEATURE_SHAPES = {
    "mfcc": (40,),
    "mfcc_delta": (80,),
    "gtzan57": (57,),
    "logmel": (N_MELS, LOGMEL_FRAMES),
    "logmel_full": (N_MELS, LOGMEL_FULL_FRAMES),
    **{
        name: {"penultimate": (200,), "tags": (50,), "pools": (1506,), "frontend": (561, 460), "logmel": (96, 1840)}[
            output
        ]
        for name, (_, output) in NETWORK_SETS.items()
    },
}


FEATURE_PARAMS = {
    "sr": SAMPLE_RATE,
    "n_fft": N_FFT,
    "hop_length": HOP_LENGTH,
    "n_mels": N_MELS,
    "logmel_frames": LOGMEL_FRAMES,
    "logmel_seconds": LOGMEL_SECONDS,
}


def params_for(feature_set: str) -> dict:
    """What a cached entry of ``feature_set`` depends on (beside the audio): the spectral parameters, or for a network
    set musicnn's input parameters and the checkpoint's checksum."""
    if feature_set not in NETWORK_SETS:
        return FEATURE_PARAMS
    from . import musicnn

    checkpoint = NETWORK_SETS[feature_set][0]
    return {
        "sr": musicnn.SR,
        "n_fft": musicnn.N_FFT,
        "hop": musicnn.HOP,
        "n_mels": musicnn.N_MELS,
        "patch_frames": musicnn.PATCH_FRAMES,
        "checkpoint": checkpoint,
        "weights": musicnn.CHECKPOINTS[checkpoint].sha256[".data-00000-of-00001"],
        "reduce": "mean over non-overlapping patches",
    }


def network_features(
    y16s: list[np.ndarray], checkpoint: str, want_sequences: bool = False
) -> list[dict[str, np.ndarray]]:
    """Every output of a network for several 16 kHz clips at once (their patches in shared batches).

    Returns per clip ``{set name: values}`` for the vector sets of ``checkpoint`` (`NETWORK_SETS`), each the mean over
    the clip's non-overlapping 3-s patches, and with ``want_sequences`` its two patch sets (the transfer ConvVAE's
    front-end sequence and log-mel frames, `musicnn.frame_sequences`).
    """
    from . import musicnn

    per_clip = [musicnn.patches(musicnn.log_mel(y)) for y in y16s]
    outs = musicnn.embed_patches(np.concatenate(per_clip), checkpoint)
    counts = [len(p) for p in per_clip]
    tracks = musicnn.track_features(outs, counts)
    starts = np.cumsum([0, *counts])
    result = []
    for i, t in enumerate(tracks):
        values = {
            "penultimate": t["penultimate"].astype(np.float64),
            "tags": t["tags"].astype(np.float64),
            "pools": np.concatenate([t["max_pool"], t["mean_pool"]]).astype(np.float64),
        }
        if want_sequences:
            seq, mel = musicnn.frame_sequences(outs["front_end"][starts[i] : starts[i + 1]], per_clip[i])
            values.update(frontend=seq, logmel=mel)
        result.append(
            {name: values[out] for name, (ck, out) in NETWORK_SETS.items() if ck == checkpoint and out in values}
        )
    return result


def compute_many(y: np.ndarray, feature_sets: list[str], sr: int = SAMPLE_RATE) -> dict[str, tuple]:
    """Several feature sets of one waveform from one shared `ClipSpectra` (one STFT for all of them).

    Returns ``{set: (values, column names or None for patches, notes)}``. Clips shorter than one analysis window
    (``n_fft`` samples) are zero-padded to it, and any non-finite value (which librosa can produce on pathological
    input) is set to 0; both are recorded in ``notes``.
    """
    base_notes: dict = {}
    if y.size < N_FFT:
        base_notes["padded_from_samples"] = int(y.size)
        y = np.pad(y, (0, N_FFT - y.size))
    spectra = ClipSpectra(y, sr)
    out = {}
    for feature_set in feature_sets:
        notes = dict(base_notes)
        result = FEATURE_SETS[feature_set](spectra)
        if isinstance(result, dict):
            columns = list(result)
            values = np.array([result[c] for c in columns], dtype=np.float64)
        else:
            columns, values = None, np.asarray(result, dtype=np.float32)
        if not np.isfinite(values).all():
            notes["non_finite_set_to_zero"] = int((~np.isfinite(values)).sum())
            values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        if feature_set in PATCH_SETS and y.size < LOGMEL_SECONDS * sr:
            notes["padded_to_seconds"] = LOGMEL_SECONDS
        out[feature_set] = (values, columns, notes)
    return out


def compute(y: np.ndarray, feature_set: str, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, list[str] | None, dict]:
    """One feature set of one waveform: ``(values, column names or None for patches, notes)`` (see `compute_many`)."""
    return compute_many(y, [feature_set], sr)[feature_set]
