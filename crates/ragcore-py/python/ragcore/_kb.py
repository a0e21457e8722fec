"""The knowledge-base handles: :class:`AsyncKnowledgeBase` (awaitables) and
:class:`KnowledgeBase` (blocking). Both wrap the native handle and only convert arguments and
results; the work runs in Rust, with the GIL released."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ragcore
from ._protocols import ChatModel, Embedder, Guard
from ._types import Answer, Document, Hit, IngestReport, Scope, _hits

__all__ = ["AsyncKnowledgeBase", "KnowledgeBase"]

PathArg = Union[str, "os.PathLike[str]"]
DocumentArg = Union[Document, Mapping[str, Any]]


def _documents(documents: Optional[Sequence[DocumentArg]]) -> Optional[List[Any]]:
    if documents is None or isinstance(documents, (str, bytes, Mapping, Document)):
        # Left for the native check, which names the mistake.
        return documents  # type: ignore[return-value]
    out: List[Any] = []
    for d in documents:
        if isinstance(d, Document):
            out.append(d.to_dict())
        elif isinstance(d, Mapping) and not isinstance(d, dict):
            out.append(dict(d))
        else:
            out.append(d)
    return out


def _scope(
    tenant: str, principals: Optional[Sequence[str]], scope: Optional[Scope]
) -> Tuple[str, Optional[Sequence[str]]]:
    if scope is None:
        return tenant, principals
    if not isinstance(scope, Scope):
        raise TypeError(f"scope must be a ragcore.Scope, got {type(scope).__name__}")
    if tenant != "default" or principals is not None:
        raise ValueError("give either scope= or tenant=/principals=, not both")
    return scope.tenant, list(scope.principals)


def _config(config: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if config is None or isinstance(config, dict):
        return config
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"config must be a dict, got {type(config).__name__}")


class AsyncKnowledgeBase:
    """A knowledge base with ``async`` methods. Open it with ``await
    AsyncKnowledgeBase.open(path)``; methods may run concurrently.

    >>> kb = await AsyncKnowledgeBase.open("./kb")
    >>> await kb.ingest(["docs/faq.csv"], tenant="acme")
    >>> answer = await kb.ask("How long does shipping take?", tenant="acme")
    """

    __slots__ = ("_native",)

    def __init__(self, native: _ragcore.NativeKnowledgeBase) -> None:
        """Wraps a native handle; use :meth:`open` instead."""
        if not isinstance(native, _ragcore.NativeKnowledgeBase):
            raise TypeError("use `await AsyncKnowledgeBase.open(path)` to open a knowledge base")
        self._native = native

    @classmethod
    async def open(
        cls,
        path: PathArg,
        *,
        embedder: Optional[Embedder] = None,
        chat: Optional[ChatModel] = None,
        guards: Optional[Sequence[Guard]] = None,
        config: Optional[Mapping[str, Any]] = None,
        rerank: Optional[str] = None,
    ) -> AsyncKnowledgeBase:
        """Opens (or creates) the knowledge base in directory ``path``.

        Without ``embedder`` and ``chat`` it runs offline (hashing embedder, extractive
        answerer). ``guards`` run after the default ones (input length, PII) on questions and
        answers. ``config`` overrides pipeline settings, nested like the Rust
        ``PipelineConfig`` (e.g. ``{"retrieval": {"top_k": 3}}``); unknown keys are refused.
        ``rerank="lexical"`` reranks the fused candidates with the built-in reranker before
        the prompt is packed (``answer.timings["rerank"]``); ``None`` or ``"none"``: off.
        """
        native = await _ragcore.NativeKnowledgeBase.open_async(
            path,
            embedder=embedder,
            chat=chat,
            guards=guards,
            config=_config(config),
            rerank=rerank,
        )
        return cls(native)

    @property
    def path(self) -> str:
        """The knowledge-base directory."""
        return os.fspath(self._native.path)

    @property
    def model(self) -> str:
        """The chat model's name (``extractive`` for the offline answerer)."""
        return self._native.model

    async def ingest(
        self,
        paths: Optional[Sequence[PathArg]] = None,
        documents: Optional[Sequence[DocumentArg]] = None,
        tenant: str = "default",
        acl: Optional[Sequence[str]] = None,
    ) -> IngestReport:
        """Loads files and directories (``paths``) and ``documents`` (:class:`Document` or
        dicts with ``id``, ``text`` and optional ``title``, ``kind``, ``acl``, ``metadata``) into
        ``tenant`` as one new knowledge-base version; only new chunks are embedded. ``acl``
        applies to the documents that carry no ACL of their own. Bad files and rows are
        reported in :attr:`IngestReport.errors`."""
        report = await self._native.ingest_async(paths, _documents(documents), tenant, acl)
        return IngestReport._from_dict(report)

    async def ask(
        self,
        question: str,
        *,
        tenant: str = "default",
        principals: Optional[Sequence[str]] = None,
        scope: Optional[Scope] = None,
    ) -> Answer:
        """Answers ``question`` from what the scope may see, with citations, or refuses
        (``no_answer=True``) when the knowledge base has nothing relevant."""
        t, p = _scope(tenant, principals, scope)
        return Answer._from_dict(await self._native.ask_async(question, t, p))

    async def retrieve(
        self,
        question: str,
        *,
        tenant: str = "default",
        principals: Optional[Sequence[str]] = None,
        scope: Optional[Scope] = None,
    ) -> List[Hit]:
        """The passages ``question`` would be answered from, best first (no generation)."""
        t, p = _scope(tenant, principals, scope)
        return _hits(await self._native.retrieve_async(question, t, p))

    def __repr__(self) -> str:
        return f"AsyncKnowledgeBase(path={self.path!r}, model={self.model!r})"


class KnowledgeBase:
    """A knowledge base with blocking methods (the GIL is released while ragcore works, and
    Ctrl-C interrupts a call). Same methods as :class:`AsyncKnowledgeBase`.

    >>> kb = KnowledgeBase.open("./kb")
    >>> kb.ingest(documents=[{"id": "a", "text": "..."}], tenant="acme")
    >>> print(kb.ask("...", tenant="acme").text)
    """

    __slots__ = ("_native",)

    def __init__(self, native: _ragcore.NativeKnowledgeBase) -> None:
        """Wraps a native handle; use :meth:`open` instead."""
        if not isinstance(native, _ragcore.NativeKnowledgeBase):
            raise TypeError("use `KnowledgeBase.open(path)` to open a knowledge base")
        self._native = native

    @classmethod
    def open(
        cls,
        path: PathArg,
        *,
        embedder: Optional[Embedder] = None,
        chat: Optional[ChatModel] = None,
        guards: Optional[Sequence[Guard]] = None,
        config: Optional[Mapping[str, Any]] = None,
        rerank: Optional[str] = None,
    ) -> KnowledgeBase:
        """Opens (or creates) the knowledge base in directory ``path``; see
        :meth:`AsyncKnowledgeBase.open`."""
        native = _ragcore.NativeKnowledgeBase.open_blocking(
            path,
            embedder=embedder,
            chat=chat,
            guards=guards,
            config=_config(config),
            rerank=rerank,
        )
        return cls(native)

    @property
    def path(self) -> str:
        """The knowledge-base directory."""
        return os.fspath(self._native.path)

    @property
    def model(self) -> str:
        """The chat model's name (``extractive`` for the offline answerer)."""
        return self._native.model

    def ingest(
        self,
        paths: Optional[Sequence[PathArg]] = None,
        documents: Optional[Sequence[DocumentArg]] = None,
        tenant: str = "default",
        acl: Optional[Sequence[str]] = None,
    ) -> IngestReport:
        """See :meth:`AsyncKnowledgeBase.ingest`."""
        report = self._native.ingest_blocking(paths, _documents(documents), tenant, acl)
        return IngestReport._from_dict(report)

    def ask(
        self,
        question: str,
        *,
        tenant: str = "default",
        principals: Optional[Sequence[str]] = None,
        scope: Optional[Scope] = None,
    ) -> Answer:
        """See :meth:`AsyncKnowledgeBase.ask`."""
        t, p = _scope(tenant, principals, scope)
        return Answer._from_dict(self._native.ask_blocking(question, t, p))

    def retrieve(
        self,
        question: str,
        *,
        tenant: str = "default",
        principals: Optional[Sequence[str]] = None,
        scope: Optional[Scope] = None,
    ) -> List[Hit]:
        """See :meth:`AsyncKnowledgeBase.retrieve`."""
        t, p = _scope(tenant, principals, scope)
        return _hits(self._native.retrieve_blocking(question, t, p))

    def __repr__(self) -> str:
        return f"KnowledgeBase(path={self.path!r}, model={self.model!r})"
