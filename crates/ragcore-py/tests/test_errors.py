"""Core errors arrive as the exception class of their kind, with kind, retryable and message."""

from __future__ import annotations

import asyncio
import pathlib
import pickle
from typing import Any, Dict, List

import pytest

import ragcore
from ragcore import errors
from ragcore._ragcore import ERROR_KINDS
from conftest import CountingEmbedder

CLASSES = {
    "invalid_input": errors.InvalidInputError,
    "config": errors.ConfigError,
    "load": errors.LoadError,
    "storage": errors.StorageError,
    "not_found": errors.NotFoundError,
    "provider": errors.ProviderError,
    "blocked": errors.BlockedError,
    "budget_exceeded": errors.BudgetExceededError,
    "timeout": errors.RagcoreTimeoutError,
    "incompatible": errors.IncompatibleError,
    "internal": errors.InternalError,
}


def test_every_core_kind_has_a_class() -> None:
    assert sorted(ERROR_KINDS) == sorted(CLASSES)
    for kind, cls in CLASSES.items():
        assert errors.error_class(kind) is cls
        assert issubclass(cls, errors.RagcoreError) and cls.KIND == kind
        e = errors._from_native(f"{kind} happened", kind, kind == "timeout")
        assert type(e) is cls
        assert (e.kind, e.message, str(e)) == (kind, f"{kind} happened", f"{kind} happened")
        assert e.retryable is (kind == "timeout")
        copy = pickle.loads(pickle.dumps(e))
        assert type(copy) is cls and (copy.kind, copy.retryable) == (kind, e.retryable)
    assert errors.error_class("something_new") is errors.RagcoreError


def test_builtin_bases() -> None:
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.RagcoreTimeoutError, TimeoutError)


def test_invalid_input(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.InvalidInputError) as info:
        kb.ask("   ", tenant="acme")
    assert info.value.kind == "invalid_input" and info.value.retryable is False
    assert "question" in info.value.message
    with pytest.raises(errors.InvalidInputError, match="tenant"):
        kb.ingest(documents=faq, tenant="")
    with pytest.raises(errors.InvalidInputError, match="principals"):
        kb.retrieve("x", tenant="acme", principals=[""])


def test_not_found(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.NotFoundError, match="tenant not found: nobody") as info:
        kb.retrieve("x", tenant="nobody")
    assert info.value.kind == "not_found"
    with pytest.raises(errors.NotFoundError, match="prompt"):
        ragcore.KnowledgeBase.open(kb_dir, config={"prompt_label": "missing"}).ask(
            "How long does shipping take?", tenant="acme"
        )


def test_blocked_by_default_guard(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.BlockedError, match="input_length") as info:
        kb.ask("x" * 50_000, tenant="acme")
    assert info.value.kind == "blocked"


def test_incompatible(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    ragcore.KnowledgeBase.open(kb_dir).ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.IncompatibleError) as info:
        ragcore.KnowledgeBase.open(kb_dir, embedder=CountingEmbedder())
    assert info.value.kind == "incompatible"
    with pytest.raises(errors.IncompatibleError, match="chunker"):
        ragcore.KnowledgeBase.open(kb_dir, config={"chunker": {"max_tokens": 100}})


def test_storage(tmp_path: pathlib.Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(errors.StorageError) as info:
        ragcore.KnowledgeBase.open(not_a_dir)
    assert info.value.kind == "storage"


def test_load_errors_are_reported_not_raised(kb_dir: str, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00binary")
    report = ragcore.KnowledgeBase.open(kb_dir).ingest(paths=[bad], tenant="acme")
    assert report.errors and report.errors[0].kind == "load"


def test_async_errors_have_the_same_classes(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir)
        await kb.ingest(documents=faq, tenant="acme")
        with pytest.raises(errors.NotFoundError):
            await kb.ask("x", tenant="nobody")
        with pytest.raises(errors.InvalidInputError):
            await kb.retrieve("", tenant="acme")
        with pytest.raises(errors.BlockedError):
            await kb.ask("y" * 50_000, tenant="acme")
        with pytest.raises(TypeError):
            await kb.ask(None)  # type: ignore[arg-type]
        # The knowledge base still works after errors.
        assert (await kb.ask("How long does shipping take?", tenant="acme")).citations

    asyncio.run(run())
