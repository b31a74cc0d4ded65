"""A ``tokenizer.json`` through the ``tokenizers`` library, with the part of transformers'
tokenizer interface the engine uses (``encode``, ``decode``, ``len``, the special token ids).

The embedded model's tokenizer is a plain ``tokenizers`` file (``tokenizer_config.json`` names
its backend ``tokenizers``); reading it directly gives the same ids as transformers'
``AutoTokenizer`` without importing transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from code_diffusion.engine.errors import ModelLoadError

SPECIAL_NAMES = ("mask", "pad", "bos", "eos", "cls", "sep", "unk")


class TokenizerFile:
    """The tokenizer of a model directory that holds ``tokenizer.json``."""

    def __init__(self, directory: Path, embedding_rows: int | None = None) -> None:
        """``embedding_rows``: the model's vocabulary size; a larger tokenizer belongs to
        another model (checked before its special tokens, which such a file rarely has)."""
        from tokenizers import Tokenizer

        source, config_file = directory / "tokenizer.json", directory / "tokenizer_config.json"
        try:
            self.backend = Tokenizer.from_file(str(source))
            config: dict[str, Any] = (json.loads(config_file.read_text(encoding="utf-8"))
                                      if config_file.exists() else {})
        except Exception as exc:  # tokenizers raises plain Exception on a bad file
            raise ModelLoadError(f"could not load the tokenizer from {directory}: {exc}; the "
                                 "directory needs tokenizer.json and tokenizer_config.json "
                                 "that match the model") from exc
        if embedding_rows is not None and len(self) > embedding_rows:
            raise ModelLoadError(
                f"the tokenizer in {directory} has {len(self)} tokens but the model's "
                f"embedding has {embedding_rows} rows: the tokenizer belongs to another "
                "model; copy the checkpoint's own tokenizer files")
        for name in SPECIAL_NAMES:
            token = config.get(f"{name}_token")
            if isinstance(token, dict):
                token = token.get("content")
            token_id = self.backend.token_to_id(token) if isinstance(token, str) else None
            if isinstance(token, str) and token_id is None:
                raise ModelLoadError(f"{config_file} names {name}_token {token!r}, which "
                                     f"{source} does not define; copy the checkpoint's own "
                                     "tokenizer files")
            setattr(self, f"{name}_token_id", token_id)

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, add_special_tokens: bool = False, **_: Any) -> list[int]:
        return self.backend.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, token_ids: list[int], skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool = False) -> str:
        if clean_up_tokenization_spaces:
            raise ValueError("clean_up_tokenization_spaces is not supported: the engine "
                             "decodes text exactly as the tokens spell it")
        return self.backend.decode(list(token_ids), skip_special_tokens=skip_special_tokens)
