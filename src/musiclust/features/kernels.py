"""Fast exact kernels for the hot spots of feature extraction.

Each function returns the same numbers as the librosa/scipy call named in its docstring (the tests compare them), only
faster, mainly by sharing work: one normalization of the spectrogram for centroid, bandwidth and rolloff; filter banks
built once per process; a running median that updates a sorted window instead of re-sorting it at every step.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _jit():
    """Compile the numba kernels once per process (cached on disk by numba between runs)."""
    import numba

    @numba.njit(cache=True)
    def reflect(j, n):
        # scipy.ndimage 'reflect' (half-sample symmetric): d c b a | a b c d | d c b a
        while j < 0 or j >= n:
            if j < 0:
                j = -j - 1
            if j >= n:
                j = 2 * n - j - 1
        return j

    @numba.njit(cache=True)
    def running_median(x, k):
        """Running median of odd width ``k`` down axis 0 of a C-contiguous ``(n, R)`` array, for all R columns in
        lockstep: each column keeps a sorted window; per step, the ranks of the outgoing and incoming samples are
        counted without branches and every slot is updated with selects, so the inner loop over columns
        vectorizes (a per-column binary search and shift mispredicts on every step)."""
        n, R = x.shape
        h = k // 2
        W = np.empty((k, R), x.dtype)
        Wn = np.empty((k, R), x.dtype)
        out = np.empty_like(x)
        col = np.empty(k, x.dtype)
        for r in range(R):
            for j in range(k):
                col[j] = x[reflect(j - h, n), r]
            col.sort()
            for j in range(k):
                W[j, r] = col[j]
        out[0, :] = W[h, :]
        p_old = np.empty(R, np.int32)
        p_new = np.empty(R, np.int32)
        for i in range(1, n):
            old = x[reflect(i - 1 - h, n)]
            new = x[reflect(i + h, n)]
            p_old[:] = 0
            p_new[:] = 0
            for j in range(k):
                for r in range(R):
                    w = W[j, r]
                    p_old[r] += w < old[r]
                    p_new[r] += w < new[r]
            for j in range(k):
                jp = j + 1 if j + 1 < k else j
                jm = j - 1 if j > 0 else j
                for r in range(R):
                    po = p_old[r]
                    pn = p_new[r]
                    grow = pn > po
                    # new > old: slots [po, pn-1) take their right neighbour and `new` lands at pn-1;
                    # new <= old: slots (pn, po] take their left neighbour and `new` lands at pn.
                    v = W[j, r]
                    v = W[jp, r] if (grow and j >= po and j < pn - 1) else v
                    v = W[jm, r] if ((not grow) and j > pn and j <= po) else v
                    v = new[r] if ((grow and j == pn - 1) or ((not grow) and j == pn)) else v
                    Wn[j, r] = v
            W, Wn = Wn, W
            out[i, :] = W[h, :]
        return out

    @numba.njit(cache=True)
    def apply_softmask2(D, X, X_ref):
        """``D * librosa.util.softmask(X, X_ref, power=2, split_zeros=True)``, fused into one pass."""
        out = np.empty_like(D)
        tiny = np.finfo(X.dtype).tiny
        for i in range(X.shape[0]):
            for j in range(X.shape[1]):
                a = X[i, j]
                b = X_ref[i, j]
                z = max(a, b)
                if z < tiny:
                    m = 0.5
                else:
                    a = a / z
                    b = b / z
                    m = a * a / (a * a + b * b)
                out[i, j] = D[i, j] * m
        return out

    @numba.njit(cache=True)
    def spectral_shape(S, freq, roll_percent):
        """Per-frame centroid, bandwidth (p=2) and rolloff of a C-contiguous ``(T, F)`` magnitude array."""
        T, F = S.shape
        centroid = np.empty(T)
        bandwidth = np.empty(T)
        rolloff = np.empty(T)
        tiny = np.finfo(S.dtype).tiny
        for t in range(T):
            total = 0.0
            for f in range(F):
                total += S[t, f]
            norm = total if total >= tiny else 1.0  # librosa leaves (near-)silent frames unnormalized
            c = 0.0
            for f in range(F):
                c += freq[f] * (S[t, f] / norm)
            bw = 0.0
            for f in range(F):
                d = freq[f] - c
                bw += (S[t, f] / norm) * d * d
            threshold = roll_percent * total
            acc = 0.0
            ro = freq[F - 1]
            for f in range(F):
                acc += S[t, f]
                if acc >= threshold:
                    ro = freq[f]
                    break
            centroid[t] = c
            bandwidth[t] = np.sqrt(bw)
            rolloff[t] = ro
        return centroid, bandwidth, rolloff

    return running_median, apply_softmask2, spectral_shape


def median_filter_axis(S: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(S, size=size, axes=(axis,), mode="reflect")`` for 2-D ``S`` and odd ``size``."""
    if size % 2 == 0:
        raise ValueError("median_filter_axis needs an odd size")
    running_median = _jit()[0]
    if axis in (-1, 1):
        return running_median(np.ascontiguousarray(S.T), size).T
    return running_median(np.ascontiguousarray(S), size)


def harmonic_stft(D: np.ndarray, kernel_size: int = 31, S: np.ndarray | None = None) -> np.ndarray:
    """The harmonic STFT of HPSS, equal (to float rounding) to ``librosa.decompose.hpss(D)[0]`` (Fitzgerald 2010;
    soft masks, power 2, margin 1). The percussive STFT is ``D`` minus this one, since the two masks sum to one.
    ``S`` is ``|D|`` when the caller already has it."""
    S = np.abs(D) if S is None else S
    harm = median_filter_axis(S, kernel_size, axis=1)  # median over time keeps sustained (harmonic) energy
    perc = median_filter_axis(S, kernel_size, axis=0)  # median over frequency keeps broadband (percussive) hits
    # D * mask equals librosa's (|D| * mask) * phase up to float rounding
    return _jit()[1](np.ascontiguousarray(D), np.ascontiguousarray(harm), np.ascontiguousarray(perc))


@functools.lru_cache(maxsize=8)
def mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


@functools.lru_cache(maxsize=8)
def fft_freqs(sr: int, n_fft: int) -> np.ndarray:
    import librosa

    return librosa.fft_frequencies(sr=sr, n_fft=n_fft)


def spectral_shape(S: np.ndarray, sr: int, n_fft: int, roll_percent: float = 0.85) -> dict[str, np.ndarray]:
    """Spectral centroid, bandwidth (p=2) and rolloff per frame ``(T,)`` from a magnitude spectrogram ``(F, T)``,
    equal to librosa's ``spectral_centroid``, ``spectral_bandwidth`` and ``spectral_rolloff`` with ``S=`` given,
    in one pass over the spectrogram instead of three."""
    centroid, bandwidth, rolloff = _jit()[2](np.ascontiguousarray(S.T), fft_freqs(sr, n_fft), roll_percent)
    return {"centroid": centroid, "bandwidth": bandwidth, "rolloff": rolloff}


def zero_crossing_rate(y: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Per-frame zero-crossing rate ``(T,)``, equal to ``librosa.feature.zero_crossing_rate(y)`` (centred frames,
    edge padding, |y| <= 1e-10 counted as zero, zero counted as positive), by a cumulative sum instead of framing."""
    pad = frame_length // 2
    yp = np.pad(y, pad, mode="edge")
    yp = np.where(np.abs(yp) <= 1e-10, 0, yp)
    sign = np.signbit(yp)
    cross = np.concatenate([[0], np.cumsum(sign[1:] != sign[:-1])])
    n_frames = 1 + (len(yp) - frame_length) // hop_length
    starts = np.arange(n_frames) * hop_length
    # crossings between consecutive samples inside frame [s, s + frame_length): pairs (s, s+1) ... (s+L-2, s+L-1)
    counts = cross[starts + frame_length - 1] - cross[starts]
    return counts / frame_length


def estimate_tuning(S: np.ndarray, sr: int, n_fft: int, bins_per_octave: int = 12, fmin: float = 150.0,
                    fmax: float = 4000.0, threshold: float = 0.1) -> float:
    """Tuning deviation in fractions of a bin, equal to ``librosa.estimate_tuning(S=S, sr=sr,
    bins_per_octave=...)``: piptrack's peak picking computed only on the bins inside ``[fmin, fmax)`` (plus one
    neighbour each side for the interpolation stencil) instead of on the whole spectrogram."""
    import librosa

    S = np.abs(S)
    freqs = fft_freqs(sr, n_fft)
    inside = np.flatnonzero((freqs >= fmin) & (freqs < fmax))
    if inside.size == 0:
        return 0.0
    lo, hi = max(int(inside[0]) - 1, 0), min(int(inside[-1]) + 2, S.shape[0])
    sub = S[lo:hi]
    ref_value = threshold * S.max(axis=0, keepdims=True)  # the threshold is relative to the whole frame
    avg = np.gradient(sub, axis=0)
    # librosa's parabolic-interpolation stencil: shift = -b / a, or 0 where the optimum lies beyond a neighbour
    prev, cur, nxt = sub[:-2], sub[1:-1], sub[2:]
    curv = nxt + prev - 2 * cur
    slope = (nxt - prev) / 2
    shift = np.zeros_like(sub)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[1:-1] = np.where(np.abs(slope) >= np.abs(curv), 0, -slope / curv)
    peaks = librosa.util.localmax(sub * (sub > ref_value), axis=0)
    in_range = np.zeros(sub.shape[0], dtype=bool)
    in_range[inside - lo] = True
    idx = np.nonzero(in_range[:, None] & peaks)
    pitches = (idx[0] + lo + shift[idx]) * float(sr) / n_fft
    mags = sub[idx] + 0.5 * avg[idx] * shift[idx]
    keep = pitches > 0
    if not keep.any():
        return 0.0  # what librosa returns (with a warning) when no frame has a peak, e.g. in silence
    mag_threshold = np.median(mags[keep])
    return float(librosa.pitch_tuning(pitches[(mags >= mag_threshold) & keep], bins_per_octave=bins_per_octave))
