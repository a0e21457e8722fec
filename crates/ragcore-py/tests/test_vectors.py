"""The shared test vectors (tests/vectors/basic.json), also run by `cargo test` and Node: the
Python bindings must give exactly the expected chunk ids, citations, decisions and texts."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import ragcore
from conftest import REPO

SPEC = json.loads((REPO / "tests" / "vectors" / "basic.json").read_text(encoding="utf-8"))


def by_tenant() -> Dict[str, List[Dict[str, Any]]]:
    """`documents`, grouped by tenant in order (tenants sorted, as the Rust test does)."""
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for d in SPEC["documents"]:
        doc = {k: d[k] for k in ("id", "title", "text", "kind", "acl")}
        groups.setdefault(d["tenant"], []).append(doc)
    return dict(sorted(groups.items()))


def got(hits: List[ragcore.Hit], answer: ragcore.Answer) -> Dict[str, Any]:
    return {
        "top_chunk_ids": [h.chunk_id for h in hits[:3]],
        "citation_chunk_ids": [c.chunk_id for c in answer.citations],
        "no_answer": answer.no_answer,
        "text": answer.text,
    }


def test_format_is_known() -> None:
    assert SPEC["format"].startswith("ragcore shared test vectors v1")


def test_vectors_blocking(kb_dir: str) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    for tenant, docs in by_tenant().items():
        report = kb.ingest(documents=docs, tenant=tenant)
        assert report.errors == ()
    for case in SPEC["cases"]:
        scope = ragcore.Scope(case["scope"]["tenant"], tuple(case["scope"]["principals"]))
        hits = kb.retrieve(case["question"], scope=scope)
        answer = kb.ask(case["question"], scope=scope)
        assert got(hits, answer) == case["expected"], case["name"]


def test_vectors_async(kb_dir: str) -> None:
    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir)
        for tenant, docs in by_tenant().items():
            report = await kb.ingest(documents=docs, tenant=tenant)
            assert report.errors == ()
        for case in SPEC["cases"]:
            q = case["question"]
            tenant = case["scope"]["tenant"]
            principals = case["scope"]["principals"]
            hits, answer = await asyncio.gather(
                kb.retrieve(q, tenant=tenant, principals=principals),
                kb.ask(q, tenant=tenant, principals=principals),
            )
            assert got(hits, answer) == case["expected"], case["name"]

    asyncio.run(run())

