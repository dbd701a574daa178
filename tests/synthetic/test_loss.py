import math

import pytest
import torch

from imbcl.synthetic.loss import info_nce, info_nce_and_grad


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


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_hand_written_gradient_matches_autograd(tau):
    g = torch.Generator().manual_seed(3)
    f1 = torch.randn(2, 6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    f2 = torch.randn(2, 6, 4, generator=g, dtype=torch.float64)
    loss, df1 = info_nce_and_grad(f1.detach(), f2, tau)
    expect = info_nce(f1, f2, tau)
    (auto,) = torch.autograd.grad(expect.sum(), f1)
    torch.testing.assert_close(loss, expect.detach())
    torch.testing.assert_close(df1, auto)


def test_far_negatives_keep_the_loss_exact():
    # Logits far below the row maximum are floored before exp (a speed guard); the loss of
    # a row whose negatives are all e^-1000 away must still be its exact value, 0.
    f1 = torch.tensor([[[10.0], [-10.0]]])
    f2 = torch.tensor([[[10.0], [-10.0]]])
    loss, df1 = info_nce_and_grad(f1, f2, 0.1)
    assert float(loss[0]) == 0.0 and float(df1.abs().max()) < 1e-30
