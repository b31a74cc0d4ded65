"""The optimiser of the recipe: Muon for the encoder's weight matrices, AdamW for the rest.

Muon (``torch.optim.Muon``) orthogonalises the momentum of each 2-D weight matrix with a few
Newton–Schulz steps; it suits the hidden layers' matrices and nothing else. The token embedding
(tied to the output layer), the prediction head, the norms and the biases stay with AdamW.
Muon's step is scaled with ``adjust_lr_fn="match_rms_adamw"`` so that both optimisers take the
same learning rate and weight decay, and one schedule drives them.

:class:`MuonAdamW` steps both and looks like one optimiser to the training loop:
``param_groups`` lists every group of both (the loop sets ``lr`` on each), and
``state_dict``/``load_state_dict`` round-trip both for the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

NOT_MUON = ("embeddings", "head.", "decoder")
"""Name parts of 2-D parameters that are not hidden-layer matrices."""


@dataclass(frozen=True)
class OptimizerConfig:
    lr: float = 1e-3
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    muon_momentum: float = 0.95
    muon: bool = True
    """False gives the old recipe (AdamW for every parameter), for the comparison."""


def is_matrix(name: str, param: torch.Tensor) -> bool:
    """Whether Muon takes this parameter: a 2-D weight of a hidden layer."""
    return param.ndim == 2 and not any(part in name for part in NOT_MUON)


def partition(model: torch.nn.Module, muon: bool = True) -> dict[str, list[tuple[str, Any]]]:
    """The trainable parameters by optimiser group: ``muon`` (hidden matrices),
    ``adamw_decay`` (embeddings and head matrices) and ``adamw_no_decay`` (norms, biases).
    Every parameter is in exactly one group (tied parameters are listed once)."""
    groups: dict[str, list[tuple[str, Any]]] = {"muon": [], "adamw_decay": [],
                                                 "adamw_no_decay": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if muon and is_matrix(name, param):
            groups["muon"].append((name, param))
        elif param.ndim >= 2:
            groups["adamw_decay"].append((name, param))
        else:
            groups["adamw_no_decay"].append((name, param))
    return groups


class MuonAdamW:
    """Muon and AdamW stepped together, presented as one optimiser."""

    def __init__(self, model: torch.nn.Module, cfg: OptimizerConfig = OptimizerConfig()) -> None:
        groups = partition(model, cfg.muon)
        self.groups = groups
        self.adamw = torch.optim.AdamW(
            [{"params": [p for _, p in groups["adamw_decay"]], "weight_decay": cfg.weight_decay},
             {"params": [p for _, p in groups["adamw_no_decay"]], "weight_decay": 0.0}],
            lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
        self.muon = None
        if groups["muon"]:
            self.muon = torch.optim.Muon(
                [p for _, p in groups["muon"]], lr=cfg.lr, weight_decay=cfg.weight_decay,
                momentum=cfg.muon_momentum, adjust_lr_fn="match_rms_adamw")

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [o for o in (self.muon, self.adamw) if o is not None]

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [g for o in self.optimizers for g in o.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for o in self.optimizers:
            o.step()

    def state_dict(self) -> dict[str, Any]:
        return {"adamw": self.adamw.state_dict(),
                "muon": self.muon.state_dict() if self.muon is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "adamw" not in state:
            raise ValueError("this checkpoint's optimiser state is not a Muon+AdamW state (it "
                             "was saved by the AdamW-only recipe): start the optimiser afresh "
                             "or resume with the recipe that wrote it")
        self.adamw.load_state_dict(state["adamw"])
        if (state["muon"] is None) != (self.muon is None):
            raise ValueError("the checkpoint's optimiser has a different Muon group than this "
                             "model: resume with the same model size and recipe")
        if self.muon is not None:
            self.muon.load_state_dict(state["muon"])


def build_optimizer(model: torch.nn.Module, cfg: OptimizerConfig = OptimizerConfig()
                    ) -> MuonAdamW:
    """The recipe's optimiser for ``model`` (Muon+AdamW, or AdamW only with ``muon=False``)."""
    return MuonAdamW(model, cfg)
