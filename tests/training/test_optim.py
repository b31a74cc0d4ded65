"""The recipe's optimiser: Muon for hidden matrices, AdamW for the rest, one state."""

from __future__ import annotations

import pytest
import torch

from code_diffusion.training.model import build_model
from code_diffusion.training.optim import OptimizerConfig, build_optimizer, partition


class Tiny(torch.nn.Module):
    """Embedding, two hidden matrices with a norm between them, a head tied to the embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.embeddings = torch.nn.Embedding(32, 16)
        self.hidden = torch.nn.Linear(16, 16)
        self.norm = torch.nn.LayerNorm(16)
        self.proj = torch.nn.Linear(16, 16, bias=False)
        self.decoder = torch.nn.Linear(16, 32)
        self.decoder.weight = self.embeddings.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.embeddings(ids)
        h = h + self.proj(torch.relu(self.norm(self.hidden(h))))
        return self.decoder(h)


def _ids(model: torch.nn.Module) -> list[int]:
    return sorted(id(p) for p in model.parameters())


@pytest.mark.parametrize("muon", [True, False])
def test_groups_partition_every_parameter_exactly_once(muon: bool) -> None:
    model = Tiny()
    groups = partition(model, muon)
    listed = [id(p) for members in groups.values() for _, p in members]
    assert sorted(listed) == _ids(model)
    names = {key: [n for n, _ in members] for key, members in groups.items()}
    if muon:
        assert names["muon"] == ["hidden.weight", "proj.weight"]
        assert names["adamw_decay"] == ["embeddings.weight"]
    else:
        assert names["muon"] == []
    assert set(names["adamw_no_decay"]) == {"hidden.bias", "norm.weight", "norm.bias",
                                            "decoder.bias"}
    optimizer = build_optimizer(model, OptimizerConfig(muon=muon))
    stepped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(stepped) == _ids(model)


def test_embedded_model_matrices_go_to_muon_and_embedding_head_to_adamw() -> None:
    model = build_model(256, "tiny", max_positions=64)
    groups = partition(model)
    muon = [n for n, _ in groups["muon"]]
    assert muon and all(n.startswith("model.layers.") for n in muon)
    assert all(p.ndim == 2 for _, p in groups["muon"])
    adamw = [n for n, _ in groups["adamw_decay"]]
    assert "model.embeddings.tok_embeddings.weight" in adamw
    assert "head.dense.weight" in adamw
    listed = [id(p) for members in groups.values() for _, p in members]
    assert sorted(listed) == _ids(model)


def _fit(model: torch.nn.Module, steps: int, lr: float) -> tuple[float, float]:
    torch.manual_seed(0)
    ids = torch.randint(0, 32, (8, 12))
    targets = (ids * 7 + 3) % 32
    optimizer = build_optimizer(model, OptimizerConfig(lr=lr, weight_decay=0.0))
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(ids).reshape(-1, 32), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses[0], losses[-1]


def test_a_few_steps_reduce_the_loss() -> None:
    torch.manual_seed(0)
    first, last = _fit(Tiny(), steps=30, lr=1e-2)
    assert last < 0.7 * first


def test_the_matrices_move_with_muon() -> None:
    torch.manual_seed(0)
    model = Tiny()
    before = model.proj.weight.detach().clone()
    _fit(model, steps=3, lr=1e-2)
    assert not torch.equal(before, model.proj.weight)


def test_state_dict_round_trips_both_optimisers() -> None:
    torch.manual_seed(0)
    model = Tiny()
    _fit(model, steps=2, lr=1e-2)
    optimizer = build_optimizer(model)
    ids = torch.randint(0, 32, (2, 4))
    model(ids).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    fresh = build_optimizer(model)
    fresh.load_state_dict(state)
    assert fresh.state_dict()["muon"]["state"].keys() == state["muon"]["state"].keys()
    assert len(state["adamw"]["state"]) > 0
    with pytest.raises(ValueError, match="AdamW-only"):
        fresh.load_state_dict(torch.optim.AdamW(model.parameters()).state_dict())
