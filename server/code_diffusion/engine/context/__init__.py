"""Context for a hole: drafts copied from the file and workspace, snippets, a cache prior.

Pure Python (numpy for the index); imports neither torch nor any LSP library. It never reads a
file: the texts it uses are the ones it is given. The format is documented in docs/context.md.
"""

from code_diffusion.engine.context.assemble import (
    Context,
    ContextOptions,
    approximate_tokens,
    assemble_context,
)
from code_diffusion.engine.context.drafts import ORIGINS, Draft, find_drafts
from code_diffusion.engine.context.index import WorkspaceIndex
from code_diffusion.engine.context.prior import CachePriorProcessor, NgramCache, slot_contexts
from code_diffusion.engine.context.snippets import (
    Snippet,
    comment_marker,
    render_snippets,
    select_snippets,
)

__all__ = [
    "ORIGINS", "CachePriorProcessor", "Context", "ContextOptions", "Draft", "NgramCache",
    "Snippet", "WorkspaceIndex", "approximate_tokens", "assemble_context", "comment_marker",
    "find_drafts", "render_snippets", "select_snippets", "slot_contexts",
]
