"""Small randomly initialised models of each family's shape, and legacy-style generators.

They stand in for real checkpoints (which cannot be downloaded here) in the contract tests:
same call shapes, same logit alignment, random weights.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

from code_diffusion.engine.loading import EMBEDDED_DIR


def tokenizer():
    return AutoTokenizer.from_pretrained(str(EMBEDDED_DIR))


def embedded_backbone(directory: Path, metadata: bool = True) -> Path:
    """The embedded model without its copy head, written to ``directory``: the ModernBERT
    transformers loads (transformers has no copy head, so the shipped checkpoint's own logits
    are not transformers' logits; the backbone's are, and are compared here). ``metadata``:
    with the embedded model's ``code_diffusion.json`` (without it, not the embedded family)."""
    from safetensors.torch import load_file, save_file

    config = json.loads((EMBEDDED_DIR / "config.json").read_text())
    config.pop("copy_head", None)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    weights = load_file(str(EMBEDDED_DIR / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("copy_head.")},
              str(directory / "model.safetensors"), metadata={"format": "pt"})
    names = ["tokenizer.json", "tokenizer_config.json"] + (["code_diffusion.json"] * metadata)
    for name in names:
        shutil.copy(EMBEDDED_DIR / name, directory / name)
    return directory


def tiny_bert(vocab: int = 4096, seed: int = 0) -> BertForMaskedLM:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=512, pad_token_id=0)
    return BertForMaskedLM(config).eval()


class TinyDreamModel(torch.nn.Module):
    """Dream's shape: output i predicts the token at position i + 1 (AR-style shift), and a
    ``diffusion_generate`` with Dream's exact parameters. The reference algorithm here commits
    every masked slot at once after one pass when ``steps == 1`` and one slot per step
    (highest confidence first, "maskgit_plus") otherwise."""

    def __init__(self, inner: BertForMaskedLM, mask_id: int) -> None:
        super().__init__()
        self.inner = inner
        self.config = SimpleNamespace(model_type="Dream", mask_token_id=mask_id,
                                      max_position_embeddings=512)
        self.forward_calls = 0

    def forward(self, input_ids, attention_mask=None, **_):
        self.forward_calls += 1
        logits = self.inner(input_ids=input_ids).logits
        shifted = torch.cat([logits[:, 1:], logits[:, -1:]], dim=1)
        return SimpleNamespace(logits=shifted)

    @torch.no_grad()
    def diffusion_generate(self, inputs=None, generation_config=None, attention_mask=None,
                           max_new_tokens=None, steps=512, temperature=0.0, top_p=None,
                           top_k=None, alg="origin", alg_temp=None, eps=1e-3,
                           output_history=False, return_dict_in_generate=False, **kwargs):
        mask = self.config.mask_token_id
        x = torch.cat([inputs, torch.full((inputs.shape[0], max_new_tokens), mask)], dim=1)
        for step in range(steps):
            masked = x == mask
            if not masked.any():
                break
            raw = self(x).logits
            logits = torch.cat([raw[:, :1], raw[:, :-1]], dim=1)  # un-shift, as Dream does
            logits[..., mask] = float("-inf")
            probs = logits.softmax(-1)
            confidence, tokens = probs.max(-1)
            confidence = torch.where(masked, confidence, torch.tensor(-1.0))
            k = int(masked.sum()) if steps == 1 or step == steps - 1 else 1
            picked = confidence[0].topk(k).indices
            x[0, picked] = tokens[0, picked]
        return SimpleNamespace(sequences=x, history=None) if return_dict_in_generate else x


class TinyLLaDAModel(torch.nn.Module):
    """LLaDA's shape: a plain forward with same-position logits, model_type 'llada'."""

    def __init__(self, inner: BertForMaskedLM, mask_id: int) -> None:
        super().__init__()
        self.inner = inner
        self.config = SimpleNamespace(model_type="llada", mask_token_id=mask_id,
                                      max_sequence_length=512)

    def forward(self, input_ids, **_):
        return SimpleNamespace(logits=self.inner(input_ids=input_ids).logits)


def llada_reference_generate(model, prompt, *, mask_id, steps, gen_length, temperature=0.0):
    """LLaDA's generation (one block, low-confidence remasking, linear transfer schedule),
    written from the paper's Algorithm 4. The [MASK] logit is excluded, as in our sampler."""
    x = torch.cat([prompt, torch.full((1, gen_length), mask_id)], dim=1)
    base, extra = divmod(gen_length, steps)
    schedule = [base + (1 if i < extra else 0) for i in range(steps)]
    for count in schedule:
        masked = x == mask_id
        logits = model(x).logits
        logits[..., mask_id] = float("-inf")
        confidence, tokens = logits.softmax(-1).max(-1)
        confidence = torch.where(masked, confidence, torch.tensor(float("-inf")))
        picked = confidence[0].topk(count).indices
        x[0, picked] = tokens[0, picked]
    return x


class SeedStyleDiffusion:
    """The historical object: only ``generate_code`` with its historical signature."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def generate_code(self, specification, language="python", partial_code=None,
                      max_length=512, num_samples=5, guidance_scale=1.5, temperature=0.7,
                      batch_size=4, precision="float32", device=None, use_rewards=True,
                      num_iterations=1):
        self.calls.append(dict(locals()))
        return [f"return {specification!r}  # {i}" for i in range(num_samples)]


class RenamedGenerator:
    """A generator whose parameters have other names, and no guidance or steps."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def generate(self, prompt, lang=None, context=None, num_return_sequences=1,
                 max_new_tokens=16, temperature=0.0, seed=None, diffusion_steps=8):
        self.calls.append(dict(locals()))
        return [{"text": f"pass  # {prompt} {i}"} for i in range(num_return_sequences)]
