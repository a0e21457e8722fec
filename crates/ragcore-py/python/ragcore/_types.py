"""The typed results and inputs of ragcore: frozen dataclasses built from the native module's
dicts. Field meanings are those of the Rust types of the same names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

__all__ = [
    "Scope",
    "Document",
    "Citation",
    "Usage",
    "Cost",
    "Verdict",
    "Answer",
    "Hit",
    "IngestError",
    "IngestReport",
]

_Row = Mapping[str, Any]


@dataclass(frozen=True)
class Scope:
    """Who is asking: the tenant whose knowledge may be searched, and the principals (user,
    groups) checked against document ACLs. A document with an ACL is visible only to scopes
    holding one of its principals."""

    tenant: str = "default"
    principals: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A document given directly to :meth:`KnowledgeBase.ingest` (a plain dict with the same
    keys works too). ``title`` and ``source`` default to ``id``; ``kind`` is ``"text"`` or
    ``"faq"`` (first line the question, then the answer); a non-empty ``acl`` limits who sees
    it."""

    id: str
    text: str
    title: Optional[str] = None
    kind: str = "text"
    acl: Tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """The dict form accepted by ``ingest(documents=...)``."""
        d: Dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "acl": list(self.acl),
            "metadata": dict(self.metadata),
        }
        if self.title is not None:
            d["title"] = self.title
        if self.source is not None:
            d["source"] = self.source
        return d


@dataclass(frozen=True)
class Citation:
    """A passage cited by an answer; ``index`` is the ``[n]`` marker in the answer text."""

    index: int
    chunk_id: str
    document_id: str
    title: str
    snippet: str
    score: float

    @classmethod
    def _from_dict(cls, d: _Row) -> Citation:
        return cls(
            index=int(d["index"]),
            chunk_id=str(d["chunk_id"]),
            document_id=str(d["document_id"]),
            title=str(d["title"]),
            snippet=str(d["snippet"]),
            score=float(d["score"]),
        )


@dataclass(frozen=True)
class Usage:
    """Tokens used by one request; ``estimated`` when some count was computed locally."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    embedding_tokens: int = 0
    estimated: bool = False
    cached_prompt_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def _from_dict(cls, d: _Row) -> Usage:
        return cls(
            prompt_tokens=int(d["prompt_tokens"]),
            completion_tokens=int(d["completion_tokens"]),
            embedding_tokens=int(d["embedding_tokens"]),
            estimated=bool(d["estimated"]),
            cached_prompt_tokens=int(d.get("cached_prompt_tokens", 0)),
            reasoning_tokens=int(d.get("reasoning_tokens", 0)),
        )


@dataclass(frozen=True)
class Cost:
    """Money spent on one request, in US dollars."""

    input_usd: float = 0.0
    output_usd: float = 0.0
    embedding_usd: float = 0.0
    total_usd: float = 0.0

    @classmethod
    def _from_dict(cls, d: _Row) -> Cost:
        return cls(
            input_usd=float(d["input_usd"]),
            output_usd=float(d["output_usd"]),
            embedding_usd=float(d["embedding_usd"]),
            total_usd=float(d["total_usd"]),
        )


@dataclass(frozen=True)
class Verdict:
    """What a guard or check decided: ``action`` is ``"pass"``, ``"annotate"``, ``"redact"``
    or ``"block"``; ``stage`` where it ran (``"input"``, ``"retrieve"``, ``"output"`` ...)."""

    name: str
    stage: str
    action: str
    detail: str

    @classmethod
    def _from_dict(cls, d: _Row) -> Verdict:
        return cls(
            name=str(d["name"]),
            stage=str(d["stage"]),
            action=str(d["action"]),
            detail=str(d["detail"]),
        )


@dataclass(frozen=True)
class Answer:
    """The result of ``ask()``: the text with ``[n]`` citation markers and the cited passages,
    or ``no_answer=True`` and the refusal text when the knowledge base has no answer."""

    text: str
    citations: Tuple[Citation, ...]
    no_answer: bool
    kb_version: int
    prompt_version: str
    model: str
    usage: Usage
    cost: Cost
    timings: Mapping[str, float]
    verdicts: Tuple[Verdict, ...]
    degraded: bool
    cache: str = "bypass"
    """``"bypass"`` (no cache), ``"miss"``, ``"exact_hit"`` or ``"semantic_hit"``."""

    @classmethod
    def _from_dict(cls, d: _Row) -> Answer:
        return cls(
            text=str(d["text"]),
            citations=tuple(Citation._from_dict(c) for c in d["citations"]),
            no_answer=bool(d["no_answer"]),
            kb_version=int(d["kb_version"]),
            prompt_version=str(d["prompt_version"]),
            model=str(d["model"]),
            usage=Usage._from_dict(d["usage"]),
            cost=Cost._from_dict(d["cost"]),
            timings={str(k): float(v) for k, v in d["timings"].items()},
            verdicts=tuple(Verdict._from_dict(v) for v in d["verdicts"]),
            degraded=bool(d["degraded"]),
            cache=str(d.get("cache", "bypass")),
        )


@dataclass(frozen=True)
class StreamEvent:
    """One event of ``ask_stream()``: a text ``delta`` as the model produces it, or the final
    ``answer`` (always last; its text is authoritative)."""

    delta: Optional[str] = None
    answer: Optional[Answer] = None

    @classmethod
    def _from_dict(cls, d: _Row) -> StreamEvent:
        if "answer" in d:
            return cls(answer=Answer._from_dict(d["answer"]))
        return cls(delta=str(d["delta"]))


@dataclass(frozen=True)
class CostRow:
    """One group of a cost report from the ledger."""

    key: str
    requests: int
    usage: Usage
    cost_usd: float

    @classmethod
    def _from_dict(cls, d: _Row) -> CostRow:
        return cls(
            key=str(d["key"]),
            requests=int(d["requests"]),
            usage=Usage._from_dict(d["usage"]),
            cost_usd=float(d["cost_usd"]),
        )


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: ``score`` is the fused relevance (comparable within one query);
    ``vector_score`` / ``lexical_score`` are set when that search found it."""

    chunk_id: str
    document_id: str
    title: str
    context: str
    text: str
    kind: str
    score: float
    vector_score: Optional[float]
    lexical_score: Optional[float]

    @classmethod
    def _from_dict(cls, d: _Row) -> Hit:
        vs = d.get("vector_score")
        ls = d.get("lexical_score")
        return cls(
            chunk_id=str(d["chunk_id"]),
            document_id=str(d["document_id"]),
            title=str(d["title"]),
            context=str(d["context"]),
            text=str(d["text"]),
            kind=str(d["kind"]),
            score=float(d["score"]),
            vector_score=None if vs is None else float(vs),
            lexical_score=None if ls is None else float(ls),
        )


@dataclass(frozen=True)
class IngestError:
    """A file or row that could not be ingested (the rest was)."""

    kind: str
    message: str

    @classmethod
    def _from_dict(cls, d: _Row) -> IngestError:
        return cls(kind=str(d["kind"]), message=str(d["message"]))


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did; ``errors`` lists per-file and per-row failures."""

    kb_version: int
    documents_seen: int
    documents_added: int
    documents_changed: int
    documents_unchanged: int
    documents_removed: int
    chunks_added: int
    chunks_removed: int
    chunks_embedded: int
    embedding_tokens: int
    errors: Tuple[IngestError, ...]

    @classmethod
    def _from_dict(cls, d: _Row) -> IngestReport:
        return cls(
            kb_version=int(d["kb_version"]),
            documents_seen=int(d["documents_seen"]),
            documents_added=int(d["documents_added"]),
            documents_changed=int(d["documents_changed"]),
            documents_unchanged=int(d["documents_unchanged"]),
            documents_removed=int(d.get("documents_removed", 0)),
            chunks_added=int(d["chunks_added"]),
            chunks_removed=int(d["chunks_removed"]),
            chunks_embedded=int(d["chunks_embedded"]),
            embedding_tokens=int(d["embedding_tokens"]),
            errors=tuple(IngestError._from_dict(e) for e in d["errors"]),
        )


def _hits(rows: Sequence[_Row]) -> list[Hit]:
    return [Hit._from_dict(r) for r in rows]
