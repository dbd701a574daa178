"""The schemas of the stages analyze and figures (the section analyze is shared with the
other synthetic tracks and lives in `imbcl.synthetic.params`)."""

from imbcl.core.params import Stage
from imbcl.synthetic.params import (
    AnalyzeParams,
    CalibrateParams,
    DataParams,
    HealthParams,
    ModelParams,
    TrainParams,
)


class AnalyzeStage(Stage):
    """stages/analyze.py: stage detection and claims C1, C2 (train: the seeds of the two
    replication blocks and the batch, whose log is the loss's chance value; health: the
    rule applied to the train stage's health certificates; data and train.temperature: the
    held-out pairs of the majority oracle; calibrate.default_bias and model.bias_ramp_steps:
    the setting the train stage's runs share, named in each condition)."""

    data: DataParams
    model: ModelParams
    calibrate: CalibrateParams
    analyze: AnalyzeParams
    train: TrainParams
    health: HealthParams


class FiguresStage(Stage):
    """stages/figures.py: reads no section today (its inputs are the train and analyze
    outputs); the schema is here so every stage has one."""
