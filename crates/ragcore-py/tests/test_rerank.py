"""The rerank option: the built-in reranker runs before the prompt and is timed; a bad name is
an InvalidInputError that opens nothing."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

import ragcore


def test_lexical_rerank_is_timed(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir, rerank="lexical")
    kb.ingest(documents=faq, tenant="acme")
    answer = kb.ask(faq[0]["title"], tenant="acme")
    assert "rerank" in answer.timings
    assert answer.citations


def test_async_open_takes_rerank(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def run() -> ragcore.Answer:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, rerank="none")
        await kb.ingest(documents=faq, tenant="acme")
        return await kb.ask(faq[0]["title"], tenant="acme")

    answer = asyncio.run(run())
    assert "rerank" not in answer.timings


def test_unknown_reranker_is_invalid_input(kb_dir: str) -> None:
    with pytest.raises(ragcore.errors.InvalidInputError, match="lexical"):
        ragcore.KnowledgeBase.open(kb_dir, rerank="cross-encoder")
