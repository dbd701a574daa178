"""InfoNCE with a stop-gradient second branch.

For a batch of B positive pairs (X_b, Y_b) and encoder outputs f1 = f(X), f2 = f(Y):

    sim(X_a, Y_b) = <f(X_a), stopgrad f(Y_b)>
    loss = mean_a [ -sim(X_a, Y_a) / tau + log sum_b exp(sim(X_a, Y_b) / tau) ]

The negatives of X_a are the other samples' second views Y_b, b != a. One direction only,
as in the paper's definition (no symmetrisation, no cosine normalisation, no projection
head). With R runs stacked, the loss is the *sum* of the runs' losses, so each run's
gradient is exactly the gradient it would get alone. The (lambda / 2)||theta||^2 penalty
of the objective enters as its gradient, lambda * theta, in the SGD update (train.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from imbcl.synthetic.model import EXP_FLOOR


def info_nce(f1: torch.Tensor, f2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-run InfoNCE. f1, f2 (R, B, m) -> (R,). f2 is detached here (stop-gradient).

    The reference definition, differentiable by autograd; training uses
    `info_nce_and_grad`, which the tests check against it."""
    logits = f1 @ f2.detach().transpose(1, 2) / temperature  # (R, B, B)
    R, B, _ = logits.shape
    target = torch.arange(B, device=f1.device).repeat(R)  # (R*B,)
    per_sample = F.cross_entropy(logits.reshape(R * B, B), target, reduction="none")
    return per_sample.view(R, B).mean(dim=1)


def info_nce_and_grad(
    f1: torch.Tensor, f2: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """`info_nce` and its gradient with respect to f1, by hand. f1, f2 (R, B, m).

    Returns the per-run loss (R,) and dLoss_r/df1 (R, B, m): with P = softmax(logits) row by
    row, d mean_a(...)/d logits = (P - I) / B, and logits = f1 f2^T / tau.
    """
    B = f1.shape[1]
    loss, p = info_nce_and_weights(f1, f2, temperature)
    return loss, torch.bmm(p, f2).div_(B * temperature)


def info_nce_and_weights(
    f1: torch.Tensor, f2: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """`info_nce` (R,) and P - I (R, B, B), P = softmax(f1 f2^T / tau) row by row: the loss's
    gradient with respect to the logits times B. f1, f2 (R, B, m)."""
    logits = torch.bmm(f1, f2.transpose(1, 2)).div_(temperature)  # (R, B, B)
    top = logits.amax(dim=-1, keepdim=True)  # (R, B, 1)
    e = (logits - top).clamp_(min=EXP_FLOOR).exp_()
    total = e.sum(dim=-1, keepdim=True)
    log_sum_exp = (top + total.log()).squeeze(-1)  # (R, B)
    loss = (log_sum_exp - logits.diagonal(dim1=1, dim2=2)).mean(dim=1)  # (R,)
    p = e.div_(total)
    p.diagonal(dim1=1, dim2=2).sub_(1.0)
    return loss, p
