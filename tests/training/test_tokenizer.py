"""The shipped tokenizer keeps every character of the corpus: decode(encode(x)) == x."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from code_diffusion.training import corpus
from code_diffusion.training.export import EMBEDDED_DIR
from code_diffusion.training.tokenizer import SPECIAL_TOKENS, train_tokenizer


@pytest.fixture(scope="module")
def shipped() -> Tokenizer:
    return Tokenizer.from_file(str(EMBEDDED_DIR / "tokenizer.json"))


def test_special_tokens_have_fixed_ids(shipped: Tokenizer) -> None:
    assert [shipped.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert 2048 <= shipped.get_vocab_size() <= 8192


@pytest.mark.parametrize(
    "text",
    [
        "def f(x):\n\treturn x  # tab\n",
        "    \n\n        indented()\r\n",
        "s = 'ünïcødé ✓ 😀'\n",
        "",
        "trailing spaces   ",
        "\x0c\x0b weird whitespace",
    ],
)
def test_round_trip_edge_cases(shipped: Tokenizer, text: str) -> None:
    assert shipped.decode(shipped.encode(text).ids, skip_special_tokens=False) == text


def test_round_trip_on_the_whole_corpus(shipped: Tokenizer) -> None:
    try:
        files, _ = corpus.collect()
    except corpus.CorpusError as exc:  # the pinned projects are downloaded, never by a test
        pytest.skip(str(exc))
    assert len(files) > 1000
    texts = [corpus.read_text(f) for f in files]
    failures = []
    for start in range(0, len(texts), 512):
        chunk = texts[start : start + 512]
        encoded = shipped.encode_batch(chunk)
        decoded = shipped.decode_batch([e.ids for e in encoded], skip_special_tokens=False)
        pairs = enumerate(zip(chunk, decoded, strict=True))
        failures += [files[start + i].relpath for i, (a, b) in pairs if a != b]
    assert failures == []


def test_training_is_deterministic_and_byte_exact() -> None:
    texts = ["def add(a, b):\n    return a + b\n"] * 50 + ["x = [1, 2, 3]\n"] * 50
    first, second = train_tokenizer(texts, 300), train_tokenizer(texts, 300)
    assert first.to_str() == second.to_str()
    sample = "def add(a, b):\n    return a + b\n"
    assert first.decode(first.encode(sample).ids) == sample
