"""Batches of crops read from (possibly memory-mapped) log-mel stacks, so a collection larger than RAM still trains."""

from __future__ import annotations

import keras
import numpy as np


class CropBatches(keras.utils.PyDataset):
    """Batches of random ``crop``-frame crops of (possibly memory-mapped) log-mel clips ``(n, n_mels, n_frames)``.

    Every epoch draws ``crops_per_track`` crops per track in ``index`` at random offsets (seeded, new each epoch),
    shuffled together; ``fixed=True`` draws them once (a stable validation set). Crops are normalized with the
    training set's global ``mean``/``std``; only one batch of crops is read into memory at a time.
    """

    def __init__(
        self,
        clips,
        index: np.ndarray,
        crop: int,
        crops_per_track: int,
        batch_size: int,
        mean: float,
        std: float,
        seed: int = 0,
        fixed: bool = False,
        valid_frames: np.ndarray | None = None,
        side: tuple | None = None,
    ):
        super().__init__(workers=1, use_multiprocessing=False)
        self.clips, self.index, self.crop = clips, np.asarray(index), crop
        # crops start inside each track's own audio, not in the silence a short clip was padded with
        n_frames = clips.shape[2]
        self.valid = np.full(len(clips), n_frames) if valid_frames is None else np.asarray(valid_frames)
        self.crops_per_track, self.batch_size = crops_per_track, batch_size
        self.mean, self.std, self.fixed = mean, std, fixed
        # (sequences (n, channels, steps), frames per step, channel means, channel stds): a second input cut at the
        # same place, for the transfer ConvVAE (its encoder reads musicnn front-end steps, one per 4 frames)
        self.side = side
        self.rng = np.random.default_rng(seed)
        self._draw()

    def _draw(self) -> None:
        tracks = np.repeat(self.index, self.crops_per_track)
        step = self.side[1] if self.side is not None else 1  # crops start on a step of the second input
        offsets = self.rng.integers(0, np.maximum(self.valid[tracks] - self.crop, 0) // step + 1) * step
        order = self.rng.permutation(len(tracks))
        self.pairs = np.stack([tracks[order], offsets[order]], axis=1)

    def __len__(self) -> int:
        return int(np.ceil(len(self.pairs) / self.batch_size))

    def __getitem__(self, i: int):
        pairs = self.pairs[i * self.batch_size : (i + 1) * self.batch_size]
        batch = np.stack([np.asarray(self.clips[t, :, o : o + self.crop]) for t, o in pairs])
        out = {"audio": ((batch - self.mean) / self.std).astype(np.float32)}
        if self.side is not None:
            seqs, step, mean, std = self.side
            w = self.crop // step
            side = np.stack([np.asarray(seqs[t, :, o // step : o // step + w]) for t, o in pairs])
            out["frontend"] = ((side - mean[:, None]) / std[:, None]).astype(np.float32)
        return (out,)

    def on_epoch_end(self) -> None:
        if not self.fixed:
            self._draw()


def valid_frames(clips, chunk: int = 64) -> np.ndarray:
    """Frames of real audio per clip ``(n,)``: up to the last frame that is not constant across mel bands (a clip
    shorter than 30 s is padded with its floor, which is constant). Read in chunks, so a memory map stays on disk."""
    out = []
    for start in range(0, len(clips), chunk):
        part = np.asarray(clips[start : start + chunk])
        varying = part.max(axis=1) > part.min(axis=1)  # (b, n_frames)
        last = np.where(varying.any(axis=1), varying.shape[1] - np.argmax(varying[:, ::-1], axis=1), 0)
        out.append(last)
    return np.concatenate(out)
