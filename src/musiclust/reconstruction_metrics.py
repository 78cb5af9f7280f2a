"""How much of a log-mel crop a reconstruction keeps, as pure functions: ``(m, n_mels, n_frames)`` arrays in, one
value per crop ``(m,)`` out.

A mean squared error cannot tell a sharp reconstruction from a blurred one of the same energy, so two more measures
look at what blurring loses:

- ``onset_correlation``: the Pearson correlation between the two crops' onset envelopes, i.e. the spectral flux (the
  half-wave rectified frame-to-frame rise of each band, summed over bands; Bello et al. 2005). A reconstruction
  without onsets scores about 0 (a blurred one whose small wiggles do not follow the original's), or NaN (a
  constant spectrum has no onset envelope at all).
- ``harmonic_detail_correlation``: the Pearson correlation between the two crops' fine spectral structure, each frame
  minus its moving average over ``width`` mel bands: harmonic partials and formant peaks, not the spectral envelope.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from scipy.ndimage import uniform_filter1d


def _check(originals, reconstructions) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(originals, dtype=np.float64), np.asarray(reconstructions, dtype=np.float64)
    if a.ndim != 3 or a.shape != b.shape:
        raise ValueError(f"need two (m, n_mels, n_frames) arrays of one shape, got {a.shape} and {b.shape}")
    return a, b


def _rowwise_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` ``(m, k)`` with the same row of ``b``; NaN where one is constant."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # NaN is the documented answer for those rows
        return np.asarray(stats.pearsonr(a, b, axis=1).statistic, dtype=np.float64)


def spectral_flux(crops) -> np.ndarray:
    """Onset envelope ``(m, n_frames - 1)`` of log-mel crops ``(m, n_mels, n_frames)``."""
    return np.maximum(np.diff(np.asarray(crops, dtype=np.float64), axis=2), 0.0).sum(axis=1)


def onset_correlation(originals, reconstructions) -> np.ndarray:
    """Correlation of the onset envelopes of each original and its reconstruction ``(m,)``."""
    a, b = _check(originals, reconstructions)
    return _rowwise_correlation(spectral_flux(a), spectral_flux(b))


def harmonic_detail_correlation(originals, reconstructions, width: int = 9) -> np.ndarray:
    """Correlation of the fine spectral structure (each frame minus its ``width``-band moving average) ``(m,)``."""
    a, b = _check(originals, reconstructions)

    def detail(x):
        return (x - uniform_filter1d(x, width, axis=1)).reshape(len(x), -1)

    return _rowwise_correlation(detail(a), detail(b))
