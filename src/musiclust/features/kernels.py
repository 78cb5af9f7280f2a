"""Fast exact kernels for the hot spots of feature extraction.

Each function returns the same numbers as the librosa/scipy call named in its docstring (the tests compare them), only
faster, mainly by sharing work and memory layout: spectrograms are handled as ``(T, F)`` (frames x bins, C order), the
layout in which the STFT is computed, so HPSS, the inverse STFT and the spectral kernels never transpose or copy them;
filter banks and windows are built once per process; the running median updates a sorted window instead of re-sorting
it at every step.
"""

from __future__ import annotations

import functools
import types

import numpy as np


@functools.lru_cache(maxsize=1)
def _jit():
    """Compile the numba kernels once per process (cached on disk by numba between runs); returns them by name."""
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
    def running_median(x, k, out):
        """Running median of odd width ``k`` down axis 0 of an ``(n, R)`` array into ``out`` (any strides; a
        transposed view reads and writes the other axis). Columns are processed in blocks of 64 that share one
        sorted window each (kept in L1 cache); per step, removing the outgoing sample and inserting the incoming one
        is a single branch-free pass over the window slots,
            w1[j] = w[j] if w[j] < old else w[j + 1]        (delete ``old``; w[k] = +inf)
            w'[j] = max(w1[j - 1], min(w1[j], new))          (insert ``new``; w1[-1] = -inf)
        which the compiler vectorizes across the block's columns. Exact: every output is an input sample."""
        n, R = x.shape
        h = k // 2
        B = 64
        W = np.empty((k + 1, B), x.dtype)
        prev = np.empty(B, x.dtype)
        old = np.empty(B, x.dtype)
        new = np.empty(B, x.dtype)
        col = np.empty(k, x.dtype)
        inf = x.dtype.type(np.inf)
        for r0 in range(0, R, B):
            c = min(B, R - r0)
            for r in range(B):
                if r < c:
                    for j in range(k):
                        col[j] = x[reflect(j - h, n), r0 + r]
                    col.sort()
                    for j in range(k):
                        W[j, r] = col[j]
                    out[0, r0 + r] = W[h, r]
                else:  # padding columns of the last block: an all-infinite window stays so
                    for j in range(k):
                        W[j, r] = inf
                    old[r] = inf
                    new[r] = inf
                W[k, r] = inf
            for i in range(1, n):
                i_old = reflect(i - 1 - h, n)
                i_new = reflect(i + h, n)
                for r in range(c):
                    old[r] = x[i_old, r0 + r]
                    new[r] = x[i_new, r0 + r]
                for r in range(B):
                    prev[r] = -inf
                for j in range(k):
                    for r in range(B):
                        w = W[j, r]
                        w1 = w if w < old[r] else W[j + 1, r]
                        nw = new[r]
                        v = w1 if w1 < nw else nw
                        p = prev[r]
                        W[j, r] = p if p > v else v
                        prev[r] = w1
                for r in range(c):
                    out[i, r0 + r] = W[h, r]
        return out

    @numba.njit(cache=True)
    def apply_softmask2(D, X, X_ref):
        """``D * librosa.util.softmask(X, X_ref, power=2, split_zeros=True)``, fused into one pass; ``D`` is
        complex ``(T, F)``, ``X`` and ``X_ref`` real ``(T, F)``. The mask X^2 / (X^2 + X_ref^2) is formed in float64
        (where squares cannot overflow) instead of librosa's rescaling by max(X, X_ref), which is the same number
        to float32 rounding; bins where both are (near) zero get 1/2, as librosa gives them."""
        out = np.empty_like(D)
        tiny = np.finfo(X.dtype).tiny
        for i in range(X.shape[0]):
            for j in range(X.shape[1]):
                a = np.float64(X[i, j])
                b = np.float64(X_ref[i, j])
                aa = a * a
                d = aa + b * b
                m = aa / d if d > 0.0 else 0.5
                m = 0.5 if max(a, b) < tiny else m
                out[i, j] = D[i, j] * np.float32(m)
        return out

    @numba.njit(cache=True)
    def spectral_peaks(S, lo, hi, threshold, sr, n_fft):
        """librosa.piptrack's peaks of a ``(T, F)`` magnitude array restricted to bins ``[lo, hi)``: a bin counts
        where it exceeds ``threshold`` x its frame's maximum and is a local maximum of the thresholded frame; its
        pitch and magnitude come from the same parabolic interpolation, in the same float precision, as
        librosa's (``_pi_stencil``, ``np.gradient``). Returns ``(pitches, mags)`` float32 in frame order."""
        T, F = S.shape
        pitches = np.empty(T * (hi - lo), np.float32)
        mags = np.empty(T * (hi - lo), np.float32)
        count = 0
        for t in range(T):
            ref = S[t, 0]
            for f in range(1, F):
                ref = max(ref, S[t, f])
            ref = np.float32(threshold) * ref
            for f in range(lo, hi):
                x0 = S[t, f]
                if not x0 > ref:
                    continue
                xm = S[t, f - 1] if f > 0 else x0
                xp = S[t, f + 1] if f + 1 < F else x0
                vm = xm if xm > ref else np.float32(0.0)
                vp = xp if xp > ref else np.float32(0.0)
                if not (x0 > vm and x0 >= vp):  # util.localmax: strictly above the left, at least the right
                    continue
                if f == 0 or f == F - 1:
                    shift = np.float32(0.0)  # librosa zeroes the stencil at the edges
                    avg = (xp - x0) if f == 0 else (x0 - xm)
                else:
                    a = xp + xm - 2 * x0
                    b = (xp - xm) / 2
                    shift = np.float32(0.0) if np.abs(b) >= np.abs(a) else np.float32(-b / a)
                    avg = (xp - xm) / np.float32(2.0)
                pitches[count] = (f + shift) * (float(sr) / n_fft)
                mags[count] = x0 + np.float32(0.5) * avg * shift
                count += 1
        return pitches[:count], mags[:count]

    @numba.njit(cache=True, fastmath={"reassoc", "contract"})
    def spectral_shape(S, freq, roll_percent):
        """Per-frame centroid, bandwidth (p=2) and rolloff of a C-contiguous ``(T, F)`` magnitude array. One pass
        sums the frame's moments (reassociated, so it vectorizes; float64 keeps it exact to rounding), using
        bandwidth^2 = sum(S (f - c)^2) / norm = (m2 - 2 c m1 + c^2 m0) / norm; rolloff's cumulative sum stops at
        the threshold."""
        T, F = S.shape
        centroid = np.empty(T)
        bandwidth = np.empty(T)
        rolloff = np.empty(T)
        tiny = np.finfo(S.dtype).tiny
        for t in range(T):
            m0 = 0.0
            m1 = 0.0
            m2 = 0.0
            for f in range(F):
                v = np.float64(S[t, f])
                m0 += v
                m1 += freq[f] * v
                m2 += freq[f] * freq[f] * v
            norm = m0 if m0 >= tiny else 1.0  # librosa leaves (near-)silent frames unnormalized
            c = m1 / norm
            centroid[t] = c
            bandwidth[t] = np.sqrt(max((m2 - 2.0 * c * m1 + c * c * m0) / norm, 0.0))
            threshold = roll_percent * m0
            acc = 0.0
            ro = freq[F - 1]
            for f in range(F):
                acc += S[t, f]
                if acc >= threshold:
                    ro = freq[f]
                    break
            rolloff[t] = ro
        return centroid, bandwidth, rolloff

    @numba.njit(cache=True, fastmath={"reassoc", "contract"})
    def frame_rms(y, frame_length, hop):
        """RMS of centred, zero-padded frames of ``y``: ``sqrt(mean(frame**2))`` per frame, float64 sums."""
        pad = frame_length // 2
        n_frames = 1 + (y.size + 2 * pad - frame_length) // hop
        out = np.empty(n_frames, np.float32)
        for t in range(n_frames):
            lo = max(t * hop - pad, 0)
            hi = min(t * hop - pad + frame_length, y.size)
            acc = 0.0
            for i in range(lo, hi):
                acc += np.float64(y[i]) * np.float64(y[i])
            out[t] = np.sqrt(acc / frame_length)
        return out

    @numba.njit(cache=True)
    def frame_zcr(y, frame_length, hop, threshold):
        """Zero-crossing rate of centred, edge-padded frames: sign changes between neighbours inside each frame
        (|y| <= threshold counts as zero, zero as positive) over ``frame_length``. One pass over the samples adds
        each change to the (at most frame_length / hop) frames that contain both of its samples."""
        pad = frame_length // 2
        n_frames = 1 + (y.size + 2 * pad - frame_length) // hop
        counts = np.zeros(n_frames)
        prev_neg = y[0] < -threshold  # edge padding repeats y[0] and y[-1]: no changes inside the padding
        for j in range(1, y.size):
            neg = y[j] < -threshold
            if neg != prev_neg:
                i = j + pad  # the change between padded samples i - 1 and i lies in frames s <= i - 1, i <= s + L - 1
                t_lo = max((i - frame_length + 1 + hop - 1) // hop, 0)
                t_hi = min((i - 1) // hop, n_frames - 1)
                for t in range(t_lo, t_hi + 1):
                    counts[t] += 1.0
            prev_neg = neg
        return counts / frame_length

    @numba.njit(cache=True)
    def overlap_add(frames, window, y, start, hop):
        """``y[start + t * hop + m] += window[m] * frames[t, m]`` for a block of ``(B, n_fft)`` frames."""
        B, N = frames.shape
        for t in range(B):
            o = start + t * hop
            for m in range(N):
                y[o + m] += window[m] * frames[t, m]

    return types.SimpleNamespace(
        running_median=running_median,
        apply_softmask2=apply_softmask2,
        spectral_shape=spectral_shape,
        spectral_peaks=spectral_peaks,
        overlap_add=overlap_add,
        frame_rms=frame_rms,
        frame_zcr=frame_zcr,
    )


def median_filter_axis(S: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(S, size=size, axes=(axis,), mode="reflect")`` for 2-D ``S`` and odd ``size``.
    Returns a C-contiguous array of ``S``'s shape; ``S`` may have any memory layout (it is read in place)."""
    if size % 2 == 0:
        raise ValueError("median_filter_axis needs an odd size")
    running_median = _jit().running_median
    out = np.empty(S.shape, S.dtype)
    if axis in (-1, 1):
        running_median(S.T, size, out.T)
    else:
        running_median(S, size, out)
    return out


def harmonic_stft(D_tf: np.ndarray, kernel_size: int = 31, S_tf: np.ndarray | None = None) -> np.ndarray:
    """The harmonic STFT of HPSS, ``(T, F)`` (frames x bins, the transpose of librosa's layout), equal to float
    rounding to ``librosa.decompose.hpss(D_tf.T)[0].T`` (Fitzgerald 2010; soft masks, power 2, margin 1). The
    percussive STFT is ``D`` minus this one, since the two masks sum to one. ``S_tf`` is ``|D_tf|`` when the caller
    already has it. Works in the ``(T, F)`` layout so that nothing is transposed or copied: the median over time
    runs down contiguous memory, the one over frequency reads a transposed view."""
    S_tf = np.abs(D_tf) if S_tf is None else S_tf
    harm = median_filter_axis(S_tf, kernel_size, axis=0)  # median over time keeps sustained (harmonic) energy
    perc = median_filter_axis(S_tf, kernel_size, axis=1)  # median over frequency keeps broadband (percussive) hits
    # D * mask equals librosa's (|D| * mask) * phase up to float rounding
    return _jit().apply_softmask2(np.ascontiguousarray(D_tf), harm, perc)


@functools.lru_cache(maxsize=4)
def _analysis_window(n_fft: int) -> np.ndarray:
    import librosa

    return librosa.filters.get_window("hann", n_fft, fftbins=True)  # float64, as librosa.stft uses it


def stft_frames(y: np.ndarray, n_fft: int = 2048, hop_length: int = 512, block: int = 64) -> np.ndarray:
    """The STFT as ``(T, F)`` complex64 (frames x bins): the same numbers as ``librosa.stft(y, n_fft, hop_length).T``
    (centred frames, zero padding, periodic Hann window, float64 FFT stored as complex64) but computed along
    contiguous memory in cache-sized blocks of frames, about twice as fast."""
    import scipy.fft

    window = _analysis_window(n_fft)
    padded = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    out = np.empty((frames.shape[0], 1 + n_fft // 2), np.complex64)
    for s in range(0, frames.shape[0], block):
        out[s : s + block] = scipy.fft.rfft(frames[s : s + block] * window, axis=-1)
    return out


@functools.lru_cache(maxsize=16)
def _window_sumsquare(n_frames: int, n_fft: int, hop_length: int) -> np.ndarray:
    import librosa

    return librosa.filters.window_sumsquare(
        window="hann", n_frames=n_frames, win_length=n_fft, n_fft=n_fft, hop_length=hop_length, dtype=np.float32
    )


def istft_frames(
    D_tf: np.ndarray, length: int, n_fft: int = 2048, hop_length: int = 512, block: int = 64
) -> np.ndarray:
    """Inverse of `stft_frames`: the waveform ``(length,)`` float32 from a ``(T, F)`` STFT, equal to float rounding
    to ``librosa.istft(D_tf.T, n_fft=n_fft, hop_length=hop_length, length=length)`` (windowed overlap-add divided
    by the window's sum of squares, Griffin & Lim 1984). Inverse FFTs and overlap-add run block by block so that
    each block of frames is added while it is still in cache."""
    import scipy.fft

    overlap_add = _jit().overlap_add
    n_frames = D_tf.shape[0]
    window = _analysis_window(n_fft).astype(np.float32)
    y = np.zeros(n_fft + hop_length * (n_frames - 1), np.float32)
    for s in range(0, n_frames, block):
        overlap_add(scipy.fft.irfft(D_tf[s : s + block], n=n_fft, axis=-1), window, y, s * hop_length, hop_length)
    wss = _window_sumsquare(n_frames, n_fft, hop_length)
    nonzero = wss > np.finfo(np.float32).tiny
    y[nonzero] /= wss[nonzero]
    y = y[n_fft // 2 : n_fft // 2 + length]
    return y if y.size == length else np.pad(y, (0, length - y.size))


def mean_tempogram(onset_envelope: np.ndarray, win_length: int) -> np.ndarray:
    """``librosa.feature.tempogram(onset_envelope=..., win_length=...)`` averaged over frames, ``(win_length, 1)``:
    each centred, Hann-windowed window of the onset envelope autocorrelated (by FFT) and normalized by its maximum.
    The same steps as librosa, on a frames x lags layout so that the FFTs run along contiguous memory."""
    import librosa
    import scipy.fft

    n = onset_envelope.shape[-1]
    padded = np.pad(onset_envelope, win_length // 2, mode="linear_ramp", end_values=0)
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_length)[:n]
    windowed = frames * librosa.filters.get_window("hann", win_length, fftbins=True).astype(frames.dtype)
    n_pad = scipy.fft.next_fast_len(2 * win_length - 1, real=True)
    spectrum = scipy.fft.rfft(windowed, n=n_pad, axis=-1)
    autocorr = scipy.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_pad, axis=-1)[:, :win_length]
    peak = np.abs(autocorr).max(axis=-1, keepdims=True)
    peak[peak < np.finfo(autocorr.dtype).tiny] = 1.0  # librosa.util.normalize leaves all-zero frames as they are
    return (autocorr / peak).mean(axis=0)[:, None]


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
    centroid, bandwidth, rolloff = _jit().spectral_shape(np.ascontiguousarray(S.T), fft_freqs(sr, n_fft), roll_percent)
    return {"centroid": centroid, "bandwidth": bandwidth, "rolloff": rolloff}


def zero_crossing_rate(y: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Per-frame zero-crossing rate ``(T,)``, equal to ``librosa.feature.zero_crossing_rate(y)`` (centred frames,
    edge padding, |y| <= 1e-10 counted as zero, zero counted as positive), by one running count instead of framing."""
    return _jit().frame_zcr(np.ascontiguousarray(y), frame_length, hop_length, 1e-10)


def rms(y: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Per-frame RMS ``(T,)``, equal to float32 rounding to ``librosa.feature.rms(y=y)[0]`` (centred frames, zero
    padding), summing each frame in place instead of materializing the framed signal."""
    return _jit().frame_rms(np.ascontiguousarray(y), frame_length, hop_length)


def estimate_tuning(
    S_tf: np.ndarray,
    sr: int,
    n_fft: int,
    bins_per_octave: int = 12,
    fmin: float = 150.0,
    fmax: float = 4000.0,
    threshold: float = 0.1,
) -> float:
    """Tuning deviation in fractions of a bin from a ``(T, F)`` (frames x bins) spectrogram, equal to
    ``librosa.estimate_tuning(S=S_tf.T, sr=sr, bins_per_octave=...)``: piptrack's peak picking computed in one pass,
    only on the bins inside ``[fmin, fmax)``, instead of on the whole spectrogram with temporaries."""
    import librosa

    S_tf = np.ascontiguousarray(np.abs(S_tf) if np.iscomplexobj(S_tf) else S_tf)
    freqs = fft_freqs(sr, n_fft)
    inside = np.flatnonzero((freqs >= max(fmin, 0.0)) & (freqs < min(fmax, sr / 2)))
    if inside.size == 0:
        return 0.0
    pitches, mags = _jit().spectral_peaks(S_tf, int(inside[0]), int(inside[-1]) + 1, threshold, sr, n_fft)
    keep = pitches > 0
    if not keep.any():
        return 0.0  # what librosa returns (with a warning) when no frame has a peak, e.g. in silence
    mag_threshold = np.median(mags[keep])
    return float(librosa.pitch_tuning(pitches[(mags >= mag_threshold) & keep], bins_per_octave=bins_per_octave))
