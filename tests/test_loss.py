import math

import pytest
import torch

from imbcl.loss import info_nce


def oracle(f1: torch.Tensor, f2: torch.Tensor, tau: float) -> float:
    """InfoNCE written out term by term for one run: f1, f2 (B, m)."""
    B = f1.shape[0]
    total = 0.0
    for a in range(B):
        sims = [float(f1[a] @ f2[b]) / tau for b in range(B)]
        total += -sims[a] + math.log(sum(math.exp(s) for s in sims))
    return total / B


@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("B", [2, 5])
def test_matches_hand_written_oracle(tau, B):
    g = torch.Generator().manual_seed(B)
    f1, f2 = torch.randn(3, B, 4, generator=g), torch.randn(3, B, 4, generator=g)
    got = info_nce(f1, f2, tau)
    for r in range(3):
        assert float(got[r]) == pytest.approx(oracle(f1[r], f2[r], tau), rel=1e-5)


def test_no_gradient_reaches_the_stop_gradient_branch():
    f1 = torch.randn(1, 4, 3, requires_grad=True)
    f2 = torch.randn(1, 4, 3, requires_grad=True)
    info_nce(f1, f2, 0.5).sum().backward()
    assert f1.grad is not None and f1.grad.abs().sum() > 0
    assert f2.grad is None


def test_runs_are_independent():
    f1 = torch.randn(2, 4, 3, requires_grad=True)
    f2 = torch.randn(2, 4, 3)
    info_nce(f1, f2, 0.5)[0].backward()
    assert f1.grad[1].abs().sum() == 0


def test_loss_decreases_under_gradient_steps():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(1, 8, 6, generator=g)
    f1 = torch.zeros(1, 8, 6, requires_grad=True)
    first = float(info_nce(f1, target, 0.5).detach())
    for _ in range(20):
        (grad,) = torch.autograd.grad(info_nce(f1, target, 0.5).sum(), [f1])
        f1 = (f1 - 1.0 * grad).detach().requires_grad_(True)
    assert float(info_nce(f1, target, 0.5).detach()) < first - 0.5
