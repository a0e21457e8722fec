"""What ragcore expects of Python callbacks: an embedder, guards and a chat model. Any object
with these attributes and methods works (no base class needed); each method may be a plain
function or ``async def``. Methods are called positionally.

Plain methods run on a worker thread of ragcore's runtime; coroutines run on the event loop of
the ``await`` that started the operation (under the blocking :class:`KnowledgeBase`, on a
private event loop). An exception, or a value of the wrong shape, fails the operation with a
:class:`ragcore.errors.ProviderError` whose ``__cause__`` is the original exception (raise
:class:`ragcore.errors.BlockedError` from a guard to block instead), and the knowledge base is
left untouched.
"""

from __future__ import annotations

from typing import Any, Awaitable, Dict, List, Mapping, Optional, Protocol, TypedDict, Union

__all__ = [
    "Embedder",
    "Guard",
    "GuardDecision",
    "ChatModel",
]

Vectors = List[List[float]]


class Embedder(Protocol):
    """Turns texts into vectors of ``dimensions`` floats (ragcore L2-normalises them).

    ``model`` and ``dimensions`` identify the embedding space: they are stored with the
    knowledge base, and reopening it with another embedder fails with ``IncompatibleError``.
    ``input_type`` is ``"query"`` for questions and ``"passage"`` for document chunks.
    """

    @property
    def model(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(
        self, texts: List[str], input_type: str, /
    ) -> Union[Vectors, Awaitable[Vectors]]: ...


class GuardDecision(TypedDict, total=False):
    """What a guard may return instead of ``None`` (which means pass). ``action`` is
    ``"pass"``, ``"annotate"``, ``"redact"`` (``text`` holds the rewritten text) or ``"block"``
    (the request fails with ``BlockedError``); ``detail`` is reported in the answer's verdicts
    and must not repeat sensitive content."""

    action: str
    detail: str
    text: str


GuardResult = Optional[Mapping[str, Any]]


class Guard(Protocol):
    """Checks questions (``stage="input"``) and answers (``stage="output"``) for a tenant. An
    optional attribute ``stages`` (e.g. ``("input",)``) limits where the guard runs."""

    @property
    def name(self) -> str: ...

    def check(
        self, text: str, stage: str, tenant: str, /
    ) -> Union[GuardResult, Awaitable[GuardResult]]: ...


ChatResult = Union[str, Mapping[str, Any]]


class ChatModel(Protocol):
    """Answers from the passages. ``messages`` are the rendered prompt, dicts ``{"role",
    "content"}``; ``passages`` the numbered passages in it, dicts ``{"index", "chunk_id",
    "title", "text", "tokens", "is_faq"}``. Return the answer text with ``[n]`` markers citing passage
    ``n``, or a dict ``{"text": str, "refused": bool, "prompt_tokens": int,
    "completion_tokens": int}`` (all but ``text`` optional). Returning the refusal text the
    prompt asks for marks the answer ``no_answer``."""

    @property
    def name(self) -> str: ...

    def chat(
        self,
        messages: List[Dict[str, Any]],
        question: str,
        passages: List[Dict[str, Any]],
        /,
    ) -> Union[ChatResult, Awaitable[ChatResult]]: ...
