"""ragcore quickstart: a knowledge base in a temporary directory, a few FAQ entries, questions
answered with citations (and one honest refusal), first with the blocking API, then with the
async API and a custom guard. Runs offline. `python quickstart.py`"""

from __future__ import annotations

import asyncio
import tempfile
from typing import Optional

import ragcore
from ragcore.errors import BlockedError

DOCUMENTS = [
    ragcore.Document(
        id="faq#return",
        kind="faq",
        title="退貨要在幾天內申請？",
        text="退貨要在幾天內申請？\n收到商品後 7 天內可以申請退貨，請保持商品與包裝完整。",
    ),
    ragcore.Document(
        id="faq#shipping",
        kind="faq",
        title="How long does shipping take?",
        text="How long does shipping take?\n"
        "In-stock items ship within 24 hours and arrive in 1 to 2 days.",
    ),
]


class NoCompetitors:
    """A guard that blocks questions naming a competitor."""

    name = "no_competitors"
    stages = ("input",)

    def check(self, text: str, stage: str, tenant: str) -> Optional[ragcore.GuardDecision]:
        if "globex" in text.lower():
            return {"action": "block", "detail": "mentions a competitor"}
        return None


def blocking_demo(path: str) -> None:
    kb = ragcore.KnowledgeBase.open(path)
    report = kb.ingest(documents=DOCUMENTS, tenant="acme")
    print(f"ingested {report.documents_added} documents, kb version {report.kb_version}")

    answer = kb.ask("How long does shipping take?", tenant="acme")
    print(answer.text)
    for c in answer.citations:
        print(f"  [{c.index}] {c.title} ({c.chunk_id})")
    assert not answer.no_answer and answer.citations

    refusal = kb.ask("Do you offer a UFO warranty?", tenant="acme")
    print(refusal.text)
    assert refusal.no_answer

    hits: list[ragcore.Hit] = kb.retrieve("退貨要在幾天內申請？", tenant="acme")
    print(f"top hit: {hits[0].title} score={hits[0].score:.3f}")


async def async_demo(path: str) -> None:
    kb = await ragcore.AsyncKnowledgeBase.open(path, guards=[NoCompetitors()])
    answer = await kb.ask("退貨要在幾天內申請？", scope=ragcore.Scope(tenant="acme"))
    print(answer.text)
    assert answer.citations and not answer.no_answer
    try:
        await kb.ask("Is Globex cheaper?", tenant="acme")
    except BlockedError as e:
        print(f"blocked ({e.kind}): {e.message}")
    else:
        raise AssertionError("the guard should have blocked the question")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        blocking_demo(tmp)
        asyncio.run(async_demo(tmp))


if __name__ == "__main__":
    main()
