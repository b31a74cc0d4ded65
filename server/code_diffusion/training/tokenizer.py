"""A byte-level BPE tokenizer for code, trained with ``tokenizers`` on the corpus.

Byte-level BPE keeps every byte, so whitespace and indentation survive exactly:
``decode(encode(x)) == x`` for any text (checked on the whole corpus by the tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, MASK, BOS, EOS = "[PAD]", "[MASK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, MASK, BOS, EOS)
"""In id order: ``[PAD]`` = 0, ``[MASK]`` = 1, ``[BOS]`` = 2, ``[EOS]`` = 3."""
DEFAULT_VOCAB_SIZE = 4096


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE) -> Tokenizer:
    """Train a byte-level BPE with the special tokens at ids 0..3."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    for index, token in enumerate(SPECIAL_TOKENS):
        if tokenizer.token_to_id(token) != index:
            raise RuntimeError(f"special token {token} did not get id {index}")
    return tokenizer


def save_pretrained_tokenizer(tokenizer: Tokenizer, directory: Path, max_length: int) -> None:
    """Save as a transformers fast tokenizer, loadable with ``AutoTokenizer.from_pretrained``."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        mask_token=MASK,
        bos_token=BOS,
        eos_token=EOS,
        model_max_length=max_length,
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(directory))
