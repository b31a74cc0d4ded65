"""The training corruption produces what the sampler expects at inference."""

from __future__ import annotations

import numpy as np
import torch

from code_diffusion.training.model import build_model
from code_diffusion.training.objective import (
    MASK_ID,
    PAD_ID,
    MaskingConfig,
    diffusion_loss,
    draw_t,
    make_batch,
)


def _tokens(n: int = 10_000) -> np.ndarray:
    return np.random.default_rng(0).integers(4, 300, size=n).astype(np.uint16)


def test_masked_positions_hold_mask_and_others_hold_targets() -> None:
    batch = make_batch(_tokens(), 16, np.random.default_rng(1), MaskingConfig(seq_len=64))
    assert batch.input_ids.shape == (16, 64)
    assert (batch.input_ids[batch.masked] == MASK_ID).all()
    assert torch.equal(batch.input_ids[~batch.masked], batch.targets[~batch.masked])
    assert batch.masked.any(dim=1).all()


def test_span_rows_with_padding_put_pad_at_the_end_of_the_hole() -> None:
    cfg = MaskingConfig(seq_len=64, span_share=1.0, pad_share=1.0, max_pad=8)
    batch = make_batch(_tokens(), 32, np.random.default_rng(2), cfg)
    for row in range(32):
        where = batch.masked[row].nonzero().flatten()
        assert int(where[-1] - where[0]) + 1 == len(where), "one contiguous span"
        hole = batch.targets[row, where]
        pads = (hole == PAD_ID).nonzero().flatten()
        assert len(pads) >= 1
        assert int(pads[0]) + len(pads) == len(hole), "pads are trailing inside the hole"


def test_t_is_stratified_within_bounds() -> None:
    ts = draw_t(np.random.default_rng(3), 1000, MaskingConfig())
    assert ts.min() >= 0.02 and ts.max() <= 1.0
    assert (ts < 0.3).mean() > 0.5


def test_loss_weights_rows_by_inverse_t_and_never_predicts_mask() -> None:
    torch.manual_seed(0)
    model = build_model(300, "tiny", max_positions=64)
    batch = make_batch(_tokens(), 4, np.random.default_rng(4), MaskingConfig(seq_len=64))
    loss, ce = diffusion_loss(model, batch)
    assert torch.isfinite(loss) and torch.isfinite(ce)
    assert 4.0 < float(ce) < 7.5  # near ln(300) ≈ 5.7 at initialisation
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
