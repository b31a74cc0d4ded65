"""LSP positions ↔ str offsets in UTF-16 (the default), UTF-8 and UTF-32, and their errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol.types import Position
from pygls.exceptions import JsonRpcInvalidParams

from code_diffusion.engine.text import Lines
from code_diffusion.lsp.documents import to_offset, to_position

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
TEXT = "a = '😀' + b\r\nzé\n"


@pytest.mark.parametrize(("encoding", "character"), [(UTF16, 7), (UTF8, 9), (UTF32, 6)])
def test_position_after_an_emoji(encoding, character):
    lines = Lines(TEXT)
    offset = TEXT.index("' +")
    assert to_position(lines, offset, encoding) == Position(line=0, character=character)
    assert to_offset(lines, Position(line=0, character=character), encoding) == offset


def test_second_line_after_crlf():
    lines = Lines(TEXT)
    offset = TEXT.index("é") + 1
    assert to_position(lines, offset, UTF16) == Position(line=1, character=2)
    assert to_position(lines, offset, UTF8) == Position(line=1, character=3)


def test_a_character_inside_a_surrogate_pair_is_refused():
    with pytest.raises(JsonRpcInvalidParams, match="character 6 falls inside the character"):
        to_offset(Lines(TEXT), Position(line=0, character=6), UTF16)


def test_a_line_past_the_end_is_refused():
    with pytest.raises(JsonRpcInvalidParams, match="line 3 is past the end of the document, "
                                                   "which has 3 lines"):
        to_offset(Lines(TEXT), Position(line=3, character=0), UTF16)


def test_a_character_past_the_line_end_means_the_line_end():
    lines = Lines(TEXT)
    assert to_offset(lines, Position(line=1, character=99), UTF16) == TEXT.index("\n", 14)
    assert to_offset(lines, Position(line=2, character=5), UTF16) == len(TEXT)


@given(st.text(alphabet=st.characters(blacklist_characters="\r", blacklist_categories=("Cs",))),
       st.data(), st.sampled_from([UTF8, UTF16, UTF32]))
def test_offsets_round_trip(text, data, encoding):
    offset = data.draw(st.integers(min_value=0, max_value=len(text)))
    lines = Lines(text)
    assert to_offset(lines, to_position(lines, offset, encoding), encoding) == offset
