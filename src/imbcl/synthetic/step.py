"""One contrastive step's loss and gradient, by either of two backends (`train.backend`).

Both compute, for stacked runs, the per-run InfoNCE of loss.py on a batch of pairs
(x1, x2) and its gradient with respect to the weights the encoder uses (w * mask under a
forward mask), the second branch under stop-gradient:

    manual     forward keeping the activations, `info_nce_and_grad`, the hand-written
               `backward` (model.py): no autograd graph
    autograd   a plain forward of both branches with torch autograd recording, the second
               branch detached, `info_nce`, and `torch.autograd.grad`

The two are the same mathematics summed in different orders, so one is a rounding
perturbation of the other (tests: 5 steps agree to ~1e-10 in float64). The update itself
(weight decay, learning rate, masks) is the trainer's and is shared by both.

`dense` (forward mask, `masked_grad: dense`): forward masked, backward unmasked. Each neuron
i gets the gradient of the loss with its own row present at its dense weights w_i and every
other unit as masked:

    g_i = d/dw_i [ sum_ab (P(i)_ab - I_ab) h_i(X_a; w_i) stopgrad h_i(Y_b; w_i) ] / (B tau)
    P(i) = softmax_b( <f_m(X_a), f_m(Y_b)> / tau
                      + [h_i(X_a; w_i) h_i(Y_b; w_i) - h_i(X_a; m_i w_i) h_i(Y_b; m_i w_i)] / tau )

with f_m the masked encoder (`params`) and the loss's value that of the masked forward pass.
Under a neuron mask a kept neuron gets exactly its gradient of the masked loss and a masked
neuron exactly the gradient it would get if it alone were present (its pre-activation at
w_i, outside the BReLU dead zone; its own logit in P(i), so its growth saturates as a
present neuron's does): it can grow back into the kept set. With trained attention the
attention's gradient sums the neurons' terms.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from imbcl.synthetic.loss import info_nce, info_nce_and_grad, info_nce_and_weights
from imbcl.synthetic.model import Params, Saved, backward, forward, readout

BACKENDS = ("manual", "autograd")

GradFn = Callable[[], Params]


def loss_and_grads(
    params: Params,
    x1: torch.Tensor,
    x2: torch.Tensor,
    bias: torch.Tensor | float,
    temperature: float,
    attention_grad: bool,
    backend: str = "manual",
    attended: bool = False,
    dense: Params | None = None,
) -> tuple[torch.Tensor, GradFn]:
    """The per-run loss (R,) now, and a function giving its gradients when called.

    params: the weights as the forward pass uses them ("qkv" (R, 3d, d), "w" (R, m, d), a
    forward mask already applied); x1, x2 (R, B, L, d); bias a float or (R, m). The
    gradients are "w" (R, m, d) and, with attention_grad, "qkv" (R, 3d, d), fresh tensors
    the caller may modify. They are deferred so that a step whose loss is only logged (or is
    not finite) costs no backward pass; call the function before changing params.

    attended: x1, x2 are already Attn(X) (fixed attention, computed once per block of
    steps); then only the neuron weights get a gradient (attention_grad must be False).
    dense: the weights w without the mask; then the gradient is the module docstring's
    forward-masked, backward-unmasked g.
    """
    if attended and attention_grad:
        raise ValueError("the attention gradient needs the tokens, not Attn(X)")
    encoder = readout if attended else forward
    if dense is not None:
        return _dense_backward(
            params, dense, x1, x2, bias, temperature, attention_grad, backend, encoder
        )
    if backend == "manual":
        f1, saved = encoder(params, x1, bias, keep=True)  # (R, B, m)
        assert isinstance(saved, Saved)  # keep=True always returns the activations
        f2, _ = encoder(params, x2, bias)  # the stop-gradient branch: no activations kept
        nce, df1 = info_nce_and_grad(f1, f2, temperature)  # (R,), (R, B, m)
        return nce, lambda: backward(params, saved, df1, attention_grad=attention_grad)
    if backend != "autograd":
        raise ValueError(f"backend = {backend!r}: expected one of {BACKENDS}")
    names = ["qkv", "w"] if attention_grad else ["w"]
    leaves = {k: v.detach().requires_grad_(k in names) for k, v in params.items()}
    with torch.enable_grad():
        f1 = encoder(leaves, x1, bias)[0]  # (R, B, m)
        f2 = encoder(leaves, x2, bias)[0].detach()  # stop-gradient
        nce = info_nce(f1, f2, temperature)  # (R,); runs' losses summed below, so each
        # run's gradient is the one it would get alone

    def grads() -> Params:
        got = torch.autograd.grad(nce.sum(), [leaves[k] for k in names])
        return {k: g for k, g in zip(names, got, strict=True)}

    return nce.detach(), grads


def _dense_backward(
    params: Params,
    dense: Params,
    x1: torch.Tensor,
    x2: torch.Tensor,
    bias: torch.Tensor | float,
    temperature: float,
    attention_grad: bool,
    backend: str,
    encoder: Callable,
) -> tuple[torch.Tensor, GradFn]:
    """The loss at `params` (masked) and the gradient g of the module docstring at `dense`."""
    B = x1.shape[1]
    f1, _ = encoder(params, x1, bias)  # (R, B, m), masked
    f2, _ = encoder(params, x2, bias)
    nce, _ = info_nce_and_weights(f1, f2, temperature)  # (R,)
    logits = torch.bmm(f1, f2.transpose(1, 2))  # (R, B, B), times tau

    def coef(g1: torch.Tensor, g2: torch.Tensor) -> torch.Tensor:
        """P(i) - I per neuron, (R, m, B, B), from the dense features g1, g2 (R, B, m)."""
        own = torch.einsum("rai,rbi->riab", g1, g2) - torch.einsum("rai,rbi->riab", f1, f2)
        p = torch.softmax((logits[:, None] + own) / temperature, dim=-1)
        return p - torch.eye(B, dtype=p.dtype, device=p.device)

    if backend == "manual":

        def manual() -> Params:
            g1, saved = encoder(dense, x1, bias, keep=True)  # (R, B, m) at w
            assert isinstance(saved, Saved)
            g2, _ = encoder(dense, x2, bias)
            df1 = torch.einsum("riab,rbi->rai", coef(g1, g2), g2).div_(B * temperature)
            return backward(dense, saved, df1, attention_grad=attention_grad)

        return nce, manual
    if backend != "autograd":
        raise ValueError(f"backend = {backend!r}: expected one of {BACKENDS}")
    names = ["qkv", "w"] if attention_grad else ["w"]

    def autograd() -> Params:
        leaves = {k: v.detach().requires_grad_(k in names) for k, v in dense.items()}
        with torch.enable_grad():
            g1 = encoder(leaves, x1, bias)[0]  # (R, B, m)
            g2 = encoder(leaves, x2, bias)[0].detach()
            c = coef(g1.detach(), g2)  # (R, m, B, B)
            surrogate = torch.einsum("riab,rai,rbi->", c, g1, g2) / (B * temperature)
        got = torch.autograd.grad(surrogate, [leaves[k] for k in names])
        return {k: g for k, g in zip(names, got, strict=True)}

    return nce, autograd
