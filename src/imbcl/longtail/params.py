"""Parameters of the real long-tailed image track (claim C7): the section real, and the
schemas of the stages longtail_data, longtail_train and longtail_eval."""

from typing import Annotated, Literal, Self

from pydantic import model_validator

from imbcl.core.errors import ParamError
from imbcl.core.params import (
    Float,
    Int,
    Section,
    Stage,
    at_least,
    nonneg,
    open_unit,
    positive,
    unit_open,
)

# image sides of the datasets whose side is fixed (imagefolder: real.image_side), and the
# datasets that ship with an installed package (nothing read from real.root)
FIXED_SIDES = {"digits": 8, "cifar10": 32, "cifar100": 32}
BUNDLED = ("digits",)


class RealParams(Section):
    """The real long-tailed image track: data, small ViT + SimCLR, pruning, probe, claim C7.

    One section for three stages; dvc.yaml lists, per stage, only the keys it reads.
    """

    # stage longtail_data
    dataset: Literal["digits", "cifar10", "cifar100", "imagefolder"] = "digits"
    root: str = ""  # cifar*: the python-format batches; imagefolder: the class-per-folder tree
    train_list: str = ""  # imagefolder: optional '<relative path> <label>' list (training)
    test_list: str = ""  # imagefolder: optional list of the balanced test split
    image_side: Annotated[Int, at_least(4)] = 32  # imagefolder: images resized to this^2
    imbalance_ratio: Annotated[Float, at_least(1.0)] = 10.0  # rho: n_0 / n_{C-1} (training)
    test_per_class: Annotated[Int, at_least(1)] = 50  # held-out images per class
    probe_per_class: Annotated[Int, at_least(1)] = 80  # balanced probe-training images
    # stage longtail_train: encoder, views, optimiser
    patch: Annotated[Int, at_least(1)] = 2  # patch side in pixels; divides the image side
    embed_dim: Annotated[Int, at_least(4)] = 32  # token width of the ViT
    depth: Annotated[Int, at_least(1)] = 2  # Transformer blocks
    heads: Annotated[Int, at_least(1)] = 2  # attention heads; must divide embed_dim
    mlp_neurons: Annotated[Int, at_least(1)] = 64  # MLP neurons per block (the pruned ones)
    proj_dim: Annotated[Int, at_least(1)] = 32  # projection-head output (not probed)
    steps: Annotated[Int, at_least(1)] = 250
    batch: Annotated[Int, at_least(2)] = 128  # images per step (two views), all processes
    lr: Annotated[Float, positive()] = 2.0e-3  # AdamW
    weight_decay: Annotated[Float, nonneg()] = 1.0e-4
    temperature: Annotated[Float, positive()] = 0.2  # NT-Xent tau
    crop_pad: Annotated[Int, at_least(0)] = 1  # random crop after zero padding by this
    flip: bool = False  # horizontal flips (wrong for digits, right for CIFAR)
    noise_std: Annotated[Float, nonneg()] = 0.1  # Gaussian noise, normalised pixels
    mask_patches: Annotated[Float, unit_open()] = 0.25  # share of patches zeroed per view
    # pruning (magnitude, its random control, SDCLR)
    prune_ratio: Annotated[Float, open_unit()] = 0.8
    prune_at: Annotated[Int, at_least(0)] = 100  # step of the one-shot mask
    prune_granularity: Literal["global", "neuron", "input"] = "input"
    sdclr_every: Annotated[Int, at_least(1)] = 50  # SDCLR re-derives its mask this often
    seeds: Annotated[Int, at_least(1)] = 3  # seeds seed .. seed+seeds-1, for each variant
    nproc: Annotated[Int, at_least(1)] = 1  # > 1: torchrun with DistributedDataParallel
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    threads: Annotated[Int, at_least(0)] = 1  # CPU threads per process; 0 = torch's default
    # stage longtail_eval
    split_rule: Literal["thirds", "counts"] = "thirds"  # many / medium / few
    many_min: Annotated[Int, at_least(0)] = 100  # counts rule: many-shot = more than this
    few_max: Annotated[Int, at_least(0)] = 20  # counts rule: few-shot = fewer than this
    probe_c: Annotated[Float, positive()] = 1.0  # inverse L2 strength of the probe
    knn_k: Annotated[Int, at_least(1)] = 20
    knn_temperature: Annotated[Float, positive()] = 0.07  # weights exp(cos / T)
    confidence: Annotated[Float, open_unit()] = 0.95

    @property
    def side(self) -> int:
        """The side of the images the encoder sees (bundled sets have a fixed one)."""
        return FIXED_SIDES.get(self.dataset, self.image_side)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.dataset in ("cifar10", "cifar100", "imagefolder") and not self.root:
            raise ParamError(
                f"real.root = '': expected the folder holding the {self.dataset} "
                "data when real.dataset is " + self.dataset
            )
        if self.dataset in BUNDLED and self.root:
            raise ParamError(
                f"real.root = {self.root}: expected '' when real.dataset = {self.dataset} "
                "(bundled, nothing is read from real.root)"
            )
        for key in ("train_list", "test_list"):
            if getattr(self, key) and self.dataset != "imagefolder":
                raise ParamError(
                    f"real.{key} = {getattr(self, key)}: expected '' unless real.dataset is "
                    f"imagefolder (real.dataset = {self.dataset})"
                )
        if self.train_list and not self.test_list:
            raise ParamError(
                "real.test_list = '': expected a test list when real.train_list is set "
                "(a listed long tail has no held-out images to carve)"
            )
        if self.side % self.patch:
            source = "real.image_side" if self.dataset == "imagefolder" else self.dataset
            raise ParamError(
                f"real.patch = {self.patch}: expected a divisor of the image side "
                f"{self.side} ({source})"
            )
        if self.embed_dim % self.heads:
            raise ParamError(
                f"real.heads = {self.heads}: expected a divisor of "
                f"real.embed_dim = {self.embed_dim}"
            )
        if self.batch % self.nproc:
            raise ParamError(
                f"real.batch = {self.batch}: expected a multiple of real.nproc = {self.nproc}"
            )
        if self.prune_at >= self.steps:
            raise ParamError(
                f"real.prune_at = {self.prune_at}: expected fewer than real.steps = {self.steps}"
            )
        if self.many_min < self.few_max:
            raise ParamError(
                f"real.many_min = {self.many_min}: expected >= real.few_max = {self.few_max}"
            )
        return self


class LongtailDataStage(Stage):
    """stages/longtail_data.py: the long-tailed, probe and test splits."""

    real: RealParams


class LongtailTrainStage(Stage):
    """stages/longtail_train.py: the ViT runs (dense, pruned, random, SDCLR)."""

    real: RealParams


class LongtailEvalStage(Stage):
    """stages/longtail_eval.py: probe and kNN per group; claim C7."""

    real: RealParams
