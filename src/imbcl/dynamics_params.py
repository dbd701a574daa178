"""Parameters of the dynamics analysis: the section analyze, and the schemas of the stages
analyze and figures."""

from typing import Annotated

from imbcl.core.params import Float, Int, Section, Stage, at_least, open_unit, probability


class AnalyzeParams(Section):
    """Stage detection and the decision rules of claims C1 and C2."""

    n_stages: Annotated[Int, at_least(2)] = 3  # segments sought by the change-point search
    min_stage_logs: Annotated[Int, at_least(2)] = 3  # shortest stage, in logged points
    stage_gain_min: Annotated[Float, probability()] = 0.5  # C1: share of the 2-stage residual
    specialise_threshold: Annotated[Float, probability()] = 0.7  # normalised alignment
    learned_fraction: Annotated[Float, probability()] = 0.5  # C2: 'learned' = this share
    confidence: Annotated[Float, open_unit()] = 0.95


class AnalyzeStage(Stage):
    """stages/analyze.py: stage detection and claims C1, C2."""

    analyze: AnalyzeParams


class FiguresStage(Stage):
    """stages/figures.py: reads no section today (its inputs are the train and analyze
    outputs); the schema is here so every stage has one."""
