"""Prompt registry, event log, metrics and evaluation from Python (sync and async facades)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import pytest

import ragcore
import ragcore.errors


def test_prompt_registry_from_python(kb_dir: str) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    (v1,) = kb.prompts()
    assert (v1["version"], v1["labels"]) == (1, ["latest", "production"])
    v2 = kb.save_prompt("qa", v1["system"] + " Be brief.", v1["user"], labels=["staging"])
    assert v2["version"] == 2 and "staging" in v2["labels"]
    with pytest.raises(ragcore.errors.InvalidInputError, match="protected"):
        kb.set_prompt_label("qa", "production", 2)
    with pytest.raises(ragcore.errors.InvalidInputError, match="pasages"):
        kb.save_prompt("qa", "x", "{{ question }} {{ pasages }}")
    moved = kb.set_prompt_label("qa", "production", 2, force=True, reason="test")
    assert moved is not None and moved["to_version"] == 2
    assert kb.get_prompt("qa")["version"] == 2
    assert kb.rollback_prompt("qa", "production")["to_version"] == 1
    text = kb.export_prompts("json")
    assert len(json.loads(text)["prompts"]) == 2
    other = ragcore.KnowledgeBase.open(kb_dir + "-copy")
    report = other.import_prompts(text, "json")
    assert report["saved"] == ["qa@2"] and report["unchanged"] == ["qa@1"]


def test_events_metrics_and_evaluation(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    kb.ask("How long does shipping take?", tenant="acme")
    kb.ask("What is the warranty on the Zephyr-9000 drone?", tenant="acme")
    events = kb.events(tenant="acme")
    assert [e["outcome"] for e in events] == ["answered", "no_answer"]
    assert events[0]["prompt_version"] == "qa@1" and events[0]["retrieved"]
    text = kb.metrics_text()
    assert 'ragcore_asks_total{tenant="acme",outcome="no_answer"} 1' in text
    golden = "\n".join(
        json.dumps(c)
        for c in [
            {"question": "How long does shipping take?", "expected_doc_ids": ["faq#shipping"]},
            {"question": "What is the warranty on the Zephyr-9000 drone?", "answerable": False},
        ]
    )
    report = kb.evaluate(golden, tenant="acme")
    m = report["metrics"]
    assert (report["cases"], m["recall_at_k"], m["unanswerable_refused"]) == (2, 1.0, 1.0)

    async def run() -> None:
        akb = await ragcore.AsyncKnowledgeBase.open(kb_dir)
        assert len(await akb.prompts()) == 1
        assert len(await akb.events(limit=1)) == 1
        r = await akb.evaluate(golden, tenant="acme")
        assert r["metrics"]["answerable_answered"] == 1.0

    asyncio.run(run())
