"""The pruning track (claim C6): the paper's Algorithm 1 on the synthetic model.

params         the section prune and the schema of its stages
forward        the C6 study: dense, pruned and random-mask runs over the rho grid
study          one call from the stage: runs, measures, claim row, tables
claims         the C6 statistics, their paired effects and the claim row
figures        the C6 figure
sensitivity    the sensitivity map of Algorithm 1 (alpha x every x unit), sensitivity/dvc.yaml

The masks themselves (Algorithm 1's forward-only mask) live in synthetic.masking.
"""
