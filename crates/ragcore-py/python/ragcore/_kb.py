"""The knowledge-base handles: :class:`AsyncKnowledgeBase` (awaitables) and
:class:`KnowledgeBase` (blocking). Both wrap the native handle and only convert arguments and
results; the work runs in Rust, with the GIL released."""

from __future__ import annotations

import json
import os
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from . import _ragcore
from ._observe import _AsyncObserveMixin, _ObserveMixin
from ._protocols import ChatModel, Embedder, Guard
from ._types import Answer, CostRow, Document, Hit, IngestReport, Scope, StreamEvent, _hits

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


def _op(op: str, **args: Any) -> str:
    """One knowledge operation as the JSON the native handle takes (``None`` values dropped)."""
    body: Dict[str, Any] = {"op": op}
    for k, v in args.items():
        if v is not None:
            body[k] = os.fspath(v) if k == "root" else v
    return json.dumps(body)


def _config(
    config: Optional[Mapping[str, Any]], name: str = "config"
) -> Optional[Dict[str, Any]]:
    if config is None or isinstance(config, dict):
        return config
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"{name} must be a dict, got {type(config).__name__}")


class AsyncKnowledgeBase(_AsyncObserveMixin):
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
        budgets: Optional[Mapping[str, Any]] = None,
        cache: Optional[Mapping[str, Any]] = None,
    ) -> AsyncKnowledgeBase:
        """Opens (or creates) the knowledge base in directory ``path``.

        Without ``embedder`` and ``chat`` it runs offline (hashing embedder, extractive
        answerer). ``guards`` run after the default ones (input length, PII) on questions and
        answers. ``config`` overrides pipeline settings, nested like the Rust
        ``PipelineConfig`` (e.g. ``{"retrieval": {"top_k": 3}}``); unknown keys are refused.
        ``rerank="lexical"`` reranks the fused candidates with the built-in reranker before
        the prompt is packed (``answer.timings["rerank"]``); ``None`` or ``"none"``: off.
        ``budgets`` sets spend limits and rate limits, like the Rust ``BudgetConfig``:
        ``{"rules": [{"dimension": "tenant", "period": "day", "hard_limit_usd": 5.0}],
        "over_budget": "degrade", "rate_limits": [{"dimension": "principal", "rpm": 60}]}``; a
        request over a hard limit raises :class:`~ragcore.errors.BudgetExceededError` (or is
        answered extractively, flagged ``degraded``, with ``"over_budget": "degrade"``);
        ``"on_alert": callback`` is called with the alert dict (``budget``, ``spent_usd``,
        ``soft_limit_usd`` ...) when a soft limit is crossed.
        ``cache`` turns on the answer cache: ``{"ttl_secs": 3600, "semantic_threshold": 0.9,
        "max_entries": 10000}`` (``{}`` for the defaults; ``answer.cache`` tells hit or miss).
        """
        native = await _ragcore.NativeKnowledgeBase.open_async(
            path,
            embedder=embedder,
            chat=chat,
            guards=guards,
            config=_config(config),
            rerank=rerank,
            budgets=_config(budgets, "budgets"),
            cache=_config(cache, "cache"),
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

    async def ask_stream(
        self,
        question: str,
        *,
        tenant: str = "default",
        principals: Optional[Sequence[str]] = None,
        scope: Optional[Scope] = None,
    ) -> AsyncIterator[StreamEvent]:
        """Like :meth:`ask`, streamed: events with a text ``delta`` as the model produces it,
        then one with the final ``answer`` (authoritative: output checks may change the text)."""
        t, p = _scope(tenant, principals, scope)
        stream = await self._native.ask_stream_async(question, t, p)
        while True:
            ev = await stream.next_async()
            if ev is None:
                return
            yield StreamEvent._from_dict(ev)

    async def cost_report(self, *, by: str = "tenant", tenant: Optional[str] = None) -> List[CostRow]:
        """Spend from the cost ledger grouped by ``tenant``, ``model``, ``day``, ``feature`` or
        ``principal``, most expensive first."""
        return [CostRow._from_dict(r) for r in await self._native.cost_report_async(by, tenant)]

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

    async def sync(
        self,
        root: PathArg,
        *,
        tenant: str = "default",
        acl: Optional[Sequence[str]] = None,
        strict: bool = False,
    ) -> IngestReport:
        """Makes ``tenant`` mirror directory ``root``: new, changed and deleted files as one new
        version (unchanged files cost nothing). A file that fails keeps its previous version;
        with ``strict`` any failure commits nothing."""
        op = _op("sync", root=root, tenant=tenant, acl=list(acl or []), strict=strict)
        return IngestReport._from_dict(await self._native.knowledge_async(op))

    async def versions(self) -> List[Dict[str, Any]]:
        """Every knowledge-base version, oldest first."""
        result: List[Dict[str, Any]] = await self._native.knowledge_async(_op("versions"))
        return result

    async def diff(self, from_version: int, to_version: int, *, tenant: str = "default") -> Dict[str, Any]:
        """Documents ``added``, ``changed`` and ``removed`` after ``from_version`` up to ``to_version``."""
        return cast(Dict[str, Any], await self._native.knowledge_async(
            _op("diff", tenant=tenant, **{"from": from_version, "to": to_version})
        ))

    async def rollback(self, to_version: int, *, tenant: Optional[str] = "default") -> Dict[str, Any]:
        """A new version whose live documents equal those of ``to_version`` (``tenant=None``:
        every tenant). Nothing is embedded."""
        return cast(Dict[str, Any], await self._native.knowledge_async(_op("rollback", tenant=tenant, to_version=to_version)))

    async def verify(self) -> Dict[str, Any]:
        """Compares ledger, chunks, vectors and both indexes."""
        return cast(Dict[str, Any], await self._native.knowledge_async(_op("verify")))

    async def repair(self) -> Dict[str, Any]:
        """Fixes what :meth:`verify` finds and returns the check after the repair."""
        return cast(Dict[str, Any], await self._native.knowledge_async(_op("repair")))

    async def reembed(self) -> Dict[str, Any]:
        """Re-embeds every live chunk with this handle's embedder, in place, as a new version."""
        return cast(Dict[str, Any], await self._native.knowledge_async(_op("reembed")))

    async def drift(
        self, *, tenant: str = "default", recent_days: int = 7, baseline_days: int = 28
    ) -> Dict[str, Any]:
        """Top score, no-answer rate and centroid distance of recent asks against a baseline,
        and the FAQ gaps (unanswered questions, grouped)."""
        return cast(Dict[str, Any], await self._native.knowledge_async(
            _op("drift", tenant=tenant, recent_days=recent_days, baseline_days=baseline_days)
        ))
    @property
    def guard_policy(self) -> Dict[str, Any]:
        """The guard policy in force (set it with ``config={"guards": {...}}``: ``pii_mode``,
        ``actions``, ``banned_topics``, ``canary``, ``vault_ttl_secs``, ``tenants``)."""
        return self._native.guard_policy

    async def pseudonymize(self, text: str, *, tenant: str = "default") -> Dict[str, Any]:
        """Replaces personal data in ``text`` with ``<EMAIL_1>``-style placeholders kept in
        ``tenant``'s vault; returns ``{"text", "vault_id", "placeholders"}``."""
        return await self._native.pseudonymize_async(text, tenant)

    async def restore(self, text: str, *, vault_id: str, tenant: str = "default") -> str:
        """Fills ``tenant``'s placeholders of ``vault_id`` back into ``text`` (another
        tenant's or an expired id leaves the text unchanged)."""
        return await self._native.restore_async(text, tenant, vault_id)

    async def purge_vault(self, *, tenant: Optional[str] = None, expired_only: bool = True) -> int:
        """Deletes vault entries (expired ones by default); returns how many."""
        return await self._native.purge_vault_async(tenant, expired_only)

    def __repr__(self) -> str:
        return f"AsyncKnowledgeBase(path={self.path!r}, model={self.model!r})"


class KnowledgeBase(_ObserveMixin):
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
        budgets: Optional[Mapping[str, Any]] = None,
        cache: Optional[Mapping[str, Any]] = None,
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
            budgets=_config(budgets, "budgets"),
            cache=_config(cache, "cache"),
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

    def ask_stream(
        self,
        question: str,
        *,
        tenant: str = "default",
        principals: Optional[Sequence[str]] = None,
        scope: Optional[Scope] = None,
    ) -> Iterator[StreamEvent]:
        """See :meth:`AsyncKnowledgeBase.ask_stream`."""
        t, p = _scope(tenant, principals, scope)
        stream = self._native.ask_stream_blocking(question, t, p)
        while True:
            ev = stream.next_blocking()
            if ev is None:
                return
            yield StreamEvent._from_dict(ev)

    def cost_report(self, *, by: str = "tenant", tenant: Optional[str] = None) -> List[CostRow]:
        """See :meth:`AsyncKnowledgeBase.cost_report`."""
        return [CostRow._from_dict(r) for r in self._native.cost_report_blocking(by, tenant)]

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

    def sync(
        self,
        root: PathArg,
        *,
        tenant: str = "default",
        acl: Optional[Sequence[str]] = None,
        strict: bool = False,
    ) -> IngestReport:
        """See :meth:`AsyncKnowledgeBase.sync`."""
        op = _op("sync", root=root, tenant=tenant, acl=list(acl or []), strict=strict)
        return IngestReport._from_dict(self._native.knowledge_blocking(op))

    def versions(self) -> List[Dict[str, Any]]:
        """See :meth:`AsyncKnowledgeBase.versions`."""
        result: List[Dict[str, Any]] = self._native.knowledge_blocking(_op("versions"))
        return result

    def diff(self, from_version: int, to_version: int, *, tenant: str = "default") -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.diff`."""
        return cast(Dict[str, Any], self._native.knowledge_blocking(
            _op("diff", tenant=tenant, **{"from": from_version, "to": to_version})
        ))

    def rollback(self, to_version: int, *, tenant: Optional[str] = "default") -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.rollback`."""
        return cast(Dict[str, Any], self._native.knowledge_blocking(_op("rollback", tenant=tenant, to_version=to_version)))

    def verify(self) -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.verify`."""
        return cast(Dict[str, Any], self._native.knowledge_blocking(_op("verify")))

    def repair(self) -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.repair`."""
        return cast(Dict[str, Any], self._native.knowledge_blocking(_op("repair")))

    def reembed(self) -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.reembed`."""
        return cast(Dict[str, Any], self._native.knowledge_blocking(_op("reembed")))

    def drift(
        self, *, tenant: str = "default", recent_days: int = 7, baseline_days: int = 28
    ) -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.drift`."""
        return cast(Dict[str, Any], self._native.knowledge_blocking(
            _op("drift", tenant=tenant, recent_days=recent_days, baseline_days=baseline_days)
        ))
    @property
    def guard_policy(self) -> Dict[str, Any]:
        """See :attr:`AsyncKnowledgeBase.guard_policy`."""
        return self._native.guard_policy

    def pseudonymize(self, text: str, *, tenant: str = "default") -> Dict[str, Any]:
        """See :meth:`AsyncKnowledgeBase.pseudonymize`."""
        return self._native.pseudonymize_blocking(text, tenant)

    def restore(self, text: str, *, vault_id: str, tenant: str = "default") -> str:
        """See :meth:`AsyncKnowledgeBase.restore`."""
        return self._native.restore_blocking(text, tenant, vault_id)

    def purge_vault(self, *, tenant: Optional[str] = None, expired_only: bool = True) -> int:
        """See :meth:`AsyncKnowledgeBase.purge_vault`."""
        return self._native.purge_vault_blocking(tenant, expired_only)

    def __repr__(self) -> str:
        return f"KnowledgeBase(path={self.path!r}, model={self.model!r})"
