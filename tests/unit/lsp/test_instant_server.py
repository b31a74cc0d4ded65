"""The bench's instant server (the real server over a model that answers at once) answers
ghost text, so ``bench --first-minute`` measures the server's own round trip with it."""

from __future__ import annotations

import sys

from lsprotocol import types
from session import session

INSTANT_SERVER = [sys.executable, "-m", "code_diffusion.bench.instant_server"]


async def test_the_instant_server_answers_ghost_text():
    async with session(INSTANT_SERVER, "visual-studio-code",
                       configuration={"codeDiffusion": {"debounceMs": 0}}) as s:
        await s.ready(20)
        text = "x = "
        s.open(text)
        position = s.position(text, len(text))
        result = await s.inline(position)
        assert result == types.InlineCompletionList(items=(
            types.InlineCompletionItem(insert_text="value",
                                       range=types.Range(start=position, end=position)),))
        assert s.state("ready")["model"] == "instant"
