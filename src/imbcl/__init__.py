"""imbcl: a reproducibility pipeline for contrastive learning under imbalanced data.

Packages, imported one way only (checked by import-linter in `make test`)::

    core  <-  synthetic  <-  {dynamics, imbalance, pruning}
    core  <-  longtail
"""
