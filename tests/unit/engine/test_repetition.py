"""The repetition penalty inside the hole lowers repeated word tokens and nothing else."""

from __future__ import annotations

import pytest
import torch

from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.engine.repetition import HoleRepetitionPenalty, word_tokens

VOCAB = ["<pad>", ",", " x", " None", "(", " y", "\n"]
WORDS = word_tokens(lambda ids: "".join(VOCAB[i] for i in ids), len(VOCAB), special=[0])
X, NONE, COMMA, Y = 2, 3, 1, 5


def test_only_tokens_with_letters_or_digits_and_not_special_are_words():
    assert {X, NONE, Y} == WORDS


def test_a_token_the_hole_holds_twice_is_penalised_and_more_for_each_repeat():
    logits = torch.tensor([[1.0, 2.0, 3.0, -1.0, 0.5, 3.0, 1.0]] * 3)
    hole = [[X, COMMA, X, COMMA, None], [X, COMMA, X, COMMA, X, NONE, NONE], [X, COMMA, Y]]
    out = HoleRepetitionPenalty(hole, WORDS, penalty=2.0, free=2)(logits.clone())
    assert out[0, X] == 3.0 / 2.0                      # held twice: one step of penalty
    assert out[1, X] == 3.0 / 4.0                      # held three times: two steps
    assert out[1, NONE] == -1.0 * 2.0                  # a negative logit goes further down
    assert out[0, COMMA] == 2.0 and out[1, COMMA] == 2.0  # punctuation is exempt
    assert torch.equal(out[2], logits[2])              # nothing repeated yet


def test_greedy_choice_moves_off_the_looping_token():
    logits = torch.tensor([[0.0, 1.0, 3.0, 0.0, 0.0, 2.5, 0.0]])
    plain = logits.argmax(-1).item()
    penalised = HoleRepetitionPenalty([[X, COMMA, X]], WORDS, penalty=1.5, free=2)(logits)
    assert plain == X and penalised.argmax(-1).item() == Y


class _Canvas:
    """The two methods of ``engine.canvas.Canvas`` the penalty reads."""

    def __init__(self, rows):
        self.rows = rows

    def masked_counts(self):
        return [sum(t is None for t in row) for row in self.rows]

    def slot_tokens(self, row):
        return self.rows[row]


def test_for_canvas_gives_each_masked_slot_its_own_rows_tokens():
    canvas = _Canvas([[X, X, None, None], [Y, None, Y, Y]])
    penalty = HoleRepetitionPenalty.for_canvas(canvas, WORDS, penalty=2.0, free=2)
    logits = torch.ones(3, len(VOCAB))
    out = penalty(logits)
    assert out[0, X] == 0.5 and out[1, X] == 0.5 and out[0, Y] == 1.0
    assert out[2, Y] == 0.25 and out[2, X] == 1.0
    with pytest.raises(ValueError, match="built for 3 masked slots"):
        penalty(torch.ones(2, len(VOCAB)))


def test_penalty_one_is_off_and_bad_settings_say_what_to_give():
    logits = torch.randn(1, len(VOCAB))
    assert torch.equal(HoleRepetitionPenalty([[X, X, X]], WORDS, 1.0)(logits.clone()), logits)
    with pytest.raises(InvalidRequestError, match="≥ 1"):
        HoleRepetitionPenalty([], WORDS, penalty=0.5)
    with pytest.raises(InvalidRequestError, match="integer"):
        HoleRepetitionPenalty([], WORDS, free=0)
