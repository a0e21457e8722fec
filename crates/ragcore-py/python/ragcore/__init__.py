"""ragcore: retrieval-augmented question answering with citations and honest refusals.

Ingest documents (Traditional Chinese and English), retrieve with hybrid vector + BM25 search
inside a tenant scope, and answer with ``[n]`` citations -- or refuse when the knowledge base
has no answer. Runs offline by default; plug in your own embedder, guards and chat model as
plain Python objects (see :class:`Embedder`, :class:`Guard`, :class:`ChatModel`).

>>> import ragcore
>>> kb = ragcore.KnowledgeBase.open("./kb")
>>> kb.ingest(documents=[{"id": "faq#1", "kind": "faq",
...                       "text": "How long does shipping take?\\nOne to two days."}])
>>> kb.ask("How long does shipping take?").text
"""

from __future__ import annotations

import atexit

from . import errors
from . import _ragcore as _native
from ._kb import AsyncKnowledgeBase, KnowledgeBase
from ._protocols import ChatModel, Embedder, Guard, GuardDecision
from ._ragcore import __version__
from ._types import (
    Answer,
    Citation,
    Cost,
    CostRow,
    Document,
    Hit,
    IngestError,
    IngestReport,
    Scope,
    StreamEvent,
    Usage,
    Verdict,
)
from .errors import RagcoreError

__all__ = [
    "__version__",
    "AsyncKnowledgeBase",
    "KnowledgeBase",
    "Answer",
    "Citation",
    "Cost",
    "CostRow",
    "Document",
    "Hit",
    "IngestError",
    "IngestReport",
    "Scope",
    "StreamEvent",
    "Usage",
    "Verdict",
    "Embedder",
    "Guard",
    "GuardDecision",
    "ChatModel",
    "RagcoreError",
    "errors",
]


# Before the interpreter finalizes, let background tasks finish handing results to asyncio (a
# thread that re-takes the GIL during finalization is ended by CPython, which aborts the process
# when it unwinds through Rust). Bounded: at most 2 seconds, and immediate when nothing is pending.
atexit.register(_native._quiesce, 2.0)
