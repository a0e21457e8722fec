"""ask_stream (async and sync iterators), the cost report from the ledger, cache status."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

import ragcore


def test_sync_stream_yields_deltas_then_the_answer(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    events = list(kb.ask_stream("退貨要在幾天內申請？", tenant="acme"))
    assert all(isinstance(e, ragcore.StreamEvent) for e in events)
    assert events[-1].answer is not None and all(e.delta is not None for e in events[:-1])
    answer = events[-1].answer
    assert "".join(e.delta or "" for e in events[:-1]) == answer.text
    assert answer.citations[0].document_id == "faq#return"
    assert answer.cache == "bypass"
    whole = kb.ask("退貨要在幾天內申請？", tenant="acme")
    assert whole.text == answer.text


def test_async_stream_and_cost_report(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir)
        await kb.ingest(documents=faq, tenant="acme")
        events = [e async for e in kb.ask_stream("How long does shipping take?", tenant="acme")]
        assert events[-1].answer is not None
        assert events[-1].answer.citations[0].document_id == "faq#shipping"
        await kb.ask("退貨要在幾天內申請？", tenant="acme")
        rows = await kb.cost_report(by="tenant")
        assert [(r.key, r.requests) for r in rows] == [("acme", 2)]
        by_model = await kb.cost_report(by="model", tenant="acme")
        assert [r.key for r in by_model] == ["extractive"]
        assert isinstance(by_model[0], ragcore.CostRow) and by_model[0].cost_usd == 0.0

    asyncio.run(run())


def test_bad_report_grouping_is_invalid_input(kb_dir: str) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    with pytest.raises(ragcore.errors.InvalidInputError, match="not one of tenant"):
        kb.cost_report(by="colour")
    with pytest.raises(ragcore.errors.NotFoundError):
        list(kb.ask_stream("hi", tenant="nobody"))
