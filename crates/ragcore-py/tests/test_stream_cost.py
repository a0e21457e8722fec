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


def test_budgets_and_rate_limits_from_python(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(
        kb_dir,
        budgets={
            "rules": [{"dimension": "tenant", "period": "day", "hard_limit_usd": 5.0}],
            "rate_limits": [{"dimension": "principal", "rpm": 2}],
        },
    )
    kb.ingest(documents=faq, tenant="acme")
    for _ in range(2):
        assert not kb.ask("退貨要在幾天內申請？", tenant="acme", principals=["u1"]).degraded
    with pytest.raises(ragcore.errors.BudgetExceededError, match="rate limit reached") as info:
        kb.ask("退貨要在幾天內申請？", tenant="acme", principals=["u1"])
    assert not info.value.retryable
    # Another user has their own allowance.
    assert kb.ask("退貨要在幾天內申請？", tenant="acme", principals=["u2"]).text


def test_over_budget_degrades_by_policy(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(
        kb_dir,
        budgets={"over_budget": "degrade", "rate_limits": [{"dimension": "tenant", "rpm": 1}]},
    )
    kb.ingest(documents=faq, tenant="acme")
    assert not kb.ask("退貨要在幾天內申請？", tenant="acme").degraded
    second = kb.ask("退貨要在幾天內申請？", tenant="acme")
    assert second.degraded and "7 天" in second.text


def test_answer_cache_from_python(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, cache={"ttl_secs": 600})
        await kb.ingest(documents=faq, tenant="acme")
        first = await kb.ask("退貨要在幾天內申請？", tenant="acme")
        again = await kb.ask("退貨要在幾天內申請", tenant="acme")
        other = await kb.ask("How long does shipping take?", tenant="acme")
        back = await kb.ask("退貨要在幾天內申請？", tenant="acme")
        assert (first.cache, again.cache, other.cache, back.cache) == (
            "miss",
            "exact_hit",
            "miss",
            "exact_hit",
        )
        assert again.text == first.text

    asyncio.run(run())


def test_bad_budget_and_cache_settings_say_what_and_where(kb_dir: str) -> None:
    with pytest.raises(ValueError, match="invalid budgets: unknown field `limit`"):
        ragcore.KnowledgeBase.open(kb_dir, budgets={"limit": 5})
    with pytest.raises(ValueError, match="invalid budgets"):
        ragcore.KnowledgeBase.open(kb_dir, budgets={"over_budget": "shrug"})
    with pytest.raises(TypeError, match="cache must be a dict"):
        ragcore.KnowledgeBase.open(kb_dir, cache=0.9)  # type: ignore[arg-type]
    with pytest.raises(ragcore.errors.InvalidInputError, match="cache.semantic_threshold"):
        ragcore.KnowledgeBase.open(kb_dir, cache={"semantic_threshold": 2})
    with pytest.raises(ragcore.errors.InvalidInputError, match="hard_limit_usd"):
        ragcore.KnowledgeBase.open(
            kb_dir,
            budgets={"rules": [{"dimension": "tenant", "period": "day", "hard_limit_usd": -1}]},
        )


class PricedChat:
    """A Python chat model named like a priced OpenAI model, reporting its token usage."""

    name = "gpt-4o-mini"

    def chat(
        self, messages: List[Dict[str, Any]], question: str, passages: List[Dict[str, Any]], /
    ) -> Dict[str, Any]:
        return {
            "text": f"{passages[0]['text']} [1]",
            "prompt_tokens": 100_000,
            "completion_tokens": 10_000,
        }


def test_soft_limit_calls_on_alert_with_the_budget(
    kb_dir: str, faq: List[Dict[str, Any]]
) -> None:
    alerts: List[Dict[str, Any]] = []
    kb = ragcore.KnowledgeBase.open(
        kb_dir,
        chat=PricedChat(),
        budgets={
            "rules": [{"dimension": "tenant", "period": "month", "soft_limit_usd": 0.01}],
            "on_alert": alerts.append,
        },
    )
    kb.ingest(documents=faq, tenant="acme")
    answer = kb.ask("退貨要在幾天內申請？", tenant="acme")
    assert answer.cost.total_usd > 0.01 and not answer.degraded
    kb.ask("退貨要在幾天內申請？", tenant="acme")
    assert len(alerts) == 1, alerts
    assert alerts[0]["budget"] == "tenant acme per month"
    assert alerts[0]["soft_limit_usd"] == 0.01 and alerts[0]["spent_usd"] > 0.01
    with pytest.raises(TypeError, match='budgets\\["on_alert"\\] must be callable'):
        ragcore.KnowledgeBase.open(kb_dir, budgets={"on_alert": 5})
