"""Context for a hole: drafts copied from the file and workspace, snippets, a cache prior.

Pure Python (numpy for the index); imports neither torch nor any LSP library. It never reads a
file: the texts it uses are the ones it is given.
"""

from code_diffusion.engine.context.drafts import Draft, find_drafts
from code_diffusion.engine.context.index import WorkspaceIndex

__all__ = ["Draft", "WorkspaceIndex", "find_drafts"]
