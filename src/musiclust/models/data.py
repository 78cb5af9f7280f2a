"""Batches read from (possibly memory-mapped) log-mel stacks, so a collection larger than RAM still trains."""

from __future__ import annotations

import keras
import numpy as np


class PatchBatches(keras.utils.PyDataset):
    """Yields ``inputs`` dicts of ``batch_size`` rows taken from ``index``; patches are normalized per batch.

    ``inputs["audio"]`` may be a read-only ``np.memmap`` ``(n, n_mels, n_frames)``: only the rows of one batch are
    read into memory at a time. Shuffling is seeded and changes every epoch.
    """

    def __init__(self, inputs: dict, index: np.ndarray, batch_size: int, mean: float, std: float,
                 shuffle: bool = False, seed: int = 0):
        super().__init__(workers=1, use_multiprocessing=False)
        self.inputs, self.index, self.batch_size = inputs, np.asarray(index), batch_size
        self.mean, self.std, self.shuffle = mean, std, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.index.copy()
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self) -> int:
        return int(np.ceil(len(self.index) / self.batch_size))

    def __getitem__(self, i: int):
        rows = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])  # sorted reads suit a memmap
        batch = {k: np.asarray(v[rows]) for k, v in self.inputs.items()}
        batch["audio"] = ((batch["audio"] - self.mean) / self.std).astype(np.float32)
        return (batch,)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)
