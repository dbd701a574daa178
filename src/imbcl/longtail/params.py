"""Parameters of the real long-tailed image track (claim C7): the section real, and the
schemas of the stages longtail_data, longtail_train and longtail_eval."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from imbcl.core.errors import ParamError
from imbcl.core.params import (
    Float,
    Int,
    Section,
    Stage,
    at_least,
    expect,
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

    arrays = (
        ("batch", "image_side", "image_side", "embed_dim"),
        ("test_per_class", "image_side", "image_side"),
        ("probe_per_class", "image_side", "image_side"),
        ("embed_dim", "mlp_neurons", "depth"),
    )

    # stage longtail_data
    dataset: Literal["digits", "cifar10", "cifar100", "imagefolder"] = "digits"
    root: str = ""  # cifar*: the python-format batches; imagefolder: the class-per-folder tree
    root_sha256: str = ""  # optional: the digest longtail_source prints; other data refused
    train_list: str = ""  # imagefolder: optional '<relative path> <label>' list (training)
    test_list: str = ""  # imagefolder: optional list of the balanced test split
    image_side: Annotated[Int, at_least(4)] = 32  # imagefolder: images resized to this^2
    imbalance_ratio: Annotated[Float, at_least(1.0)] = 10.0  # rho of C7: n_0 / n_{C-1}
    # more rho trained and evaluated beside imbalance_ratio (1.0: the balanced control)
    extra_ratios: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1, may be empty")
    ] = [1.0, 50.0, 100.0]
    test_per_class: Annotated[Int, at_least(1)] = 50  # held-out images per class
    probe_per_class: Annotated[Int, at_least(1)] = 80  # balanced probe-training images
    # stage longtail_train: encoder
    patch: Annotated[Int, at_least(1)] = 4  # patch side in pixels; divides the image side
    embed_dim: Annotated[Int, at_least(4)] = 64  # token width of the ViT
    depth: Annotated[Int, at_least(1)] = 2  # Transformer blocks
    heads: Annotated[Int, at_least(1)] = 2  # attention heads; must divide embed_dim
    mlp_neurons: Annotated[Int, at_least(1)] = 128  # MLP neurons per block (the pruned ones)
    proj_dim: Annotated[Int, at_least(1)] = 64  # projection-head output (not probed)
    # optimiser and schedule
    steps: Annotated[Int, at_least(1)] = 250
    batch: Annotated[Int, at_least(2)] = 128  # images per step (two views), all processes
    lr: Annotated[Float, positive()] = 3.0e-3  # AdamW, peak
    warmup_steps: Annotated[Int, at_least(0)] = 25  # linear warm-up from lr / warmup_steps
    schedule: Literal["cosine", "constant"] = "cosine"  # after the warm-up
    weight_decay: Annotated[Float, nonneg()] = 1.0e-4
    temperature: Annotated[Float, positive()] = 0.2  # NT-Xent tau
    # views: a random affine map of each image, then flip, noise and patch masking
    shift: Annotated[Float, nonneg()] = 1.0  # translation up to this many pixels
    rotate: Annotated[Float, nonneg()] = 15.0  # rotation up to this many degrees
    scale: Annotated[Float, unit_open()] = 0.1  # zoom by a factor in [1 - scale, 1 + scale]
    flip: bool = False  # horizontal flips (wrong for digits, right for CIFAR)
    noise_std: Annotated[Float, nonneg()] = 0.1  # Gaussian noise, normalised pixels
    mask_patches: Annotated[Float, unit_open()] = 0.0  # share of patches zeroed per view
    # pruning: the paper's Algorithm 1 (forward_mask); its random control; SDCLR
    prune_method: Literal["forward_mask"] = "forward_mask"
    prune_alpha: Annotated[Float, unit_open()] = 0.5  # alpha: the share of units masked
    prune_unit: Literal["neuron", "entry"] = "neuron"  # whole MLP neurons, or weights
    prune_every: Annotated[Int, at_least(1)] = 1  # forward_mask: recompute the mask this often
    # forward_mask: the gradient of masked weights, exact (zero; only weight decay and
    # Adam's momentum move them) or dense (forward masked, backward unmasked: as if present)
    masked_grad: Literal["exact", "dense"] = "dense"
    prune_granularity: Literal["global", "neuron", "input"] = "input"  # entries: count within
    sdclr_ratio: Annotated[Float, open_unit()] = 0.7  # SDCLR's branch: weights pruned
    sdclr_every: Annotated[Int, at_least(1)] = 50  # SDCLR re-derives its mask this often
    # seeds: two disjoint blocks, discovery seed .. seed+n-1, confirmation seed+n .. seed+2n-1
    seeds_per_block: Annotated[Int, at_least(1)] = 3
    curve_every: Annotated[Int, at_least(0)] = 50  # dense checkpoints for the curve; 0: none
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
    # C7's rule, fixed before the runs (see params.yaml for the reasons)
    health_margin: Annotated[Float, nonneg()] = 0.05  # dense - untrained probe accuracy
    min_effect: Annotated[Float, positive()] = 0.03  # few-group accuracy that matters

    @property
    def ratios(self) -> list[float]:
        """Every rho trained: imbalance_ratio (C7's) first, then extra_ratios."""
        return [self.imbalance_ratio, *self.extra_ratios]

    @property
    def seeds(self) -> int:
        """Seeds per variant and rho: both blocks."""
        return 2 * self.seeds_per_block

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
        if self.warmup_steps >= self.steps:
            raise ParamError(
                f"real.warmup_steps = {self.warmup_steps}: expected fewer than "
                f"real.steps = {self.steps}"
            )
        if len(set(self.ratios)) < len(self.ratios):
            raise ParamError(
                f"real.extra_ratios = {self.extra_ratios}: expected distinct ratios, none equal "
                f"to real.imbalance_ratio = {self.imbalance_ratio:g}"
            )
        if self.train_list and self.extra_ratios:
            raise ParamError(
                f"real.extra_ratios = {self.extra_ratios}: expected [] when real.train_list "
                "is set (the list is the long tail; no other rho can be drawn from it)"
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
