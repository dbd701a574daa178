"""The data feed of ViT training: normalised images and the batch of every step."""

from __future__ import annotations

import numpy as np
import torch

from imbcl.core.errors import ParamError


def normalise(x: np.ndarray, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> float32 with per-channel zero mean, unit std."""
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None].clamp_min(1e-6)
    return (torch.from_numpy(x).float() / 255 - m) / s


def black(mean: list[float], std: list[float]) -> torch.Tensor:
    """(C,) the normalised value of a black pixel: what a view fills its border with."""
    return normalise(np.zeros((1, len(mean), 1, 1), dtype=np.uint8), mean, std).flatten()


class Batches:
    """The images of each step, drawn without replacement within a batch (SimCLR's
    convention, as a shuffling DataLoader with drop_last): epoch e is a permutation of the
    n training images seeded by (seed, e), cut into n // batch batches; the rest is dropped.

    Step k's batch is a function of (seed, k) alone, so a run resumed or branched at any step
    draws the same images, and every process of a distributed run draws the same batch.
    """

    def __init__(self, n: int, batch: int, seed: int) -> None:
        if batch > n:
            raise ParamError(
                f"real.batch = {batch}: expected at most the {n} images of the training split"
            )
        self.n, self.batch, self.seed = n, batch, seed
        self.per_epoch = n // batch
        self._epoch, self._perm = -1, np.empty(0, dtype=np.int64)

    def __call__(self, step: int) -> torch.Tensor:
        """(batch,) distinct image indices of step `step`."""
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._epoch, self._perm = epoch, rng.permutation(self.n)
        return torch.from_numpy(self._perm[k * self.batch : (k + 1) * self.batch])
