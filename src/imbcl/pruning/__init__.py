"""The pruning track (claim C6), read top to bottom:

masks       masks from scores at each granularity (magnitude or random)
jobs        a pruned run (Job), replay to the pruning step, masked training, bias schedules
design      which cells of runs the study holds (Cell, design), the sweep's model
measures    the final measures of one run
experiment  runs the design: one row per run, then the summaries (run)
claims      paired effects, the regime map, C6, the table of variants, the metrics
figures     the figures of the prune_figures stage
"""
