"""Python objects as embedder, guards and chat model: sync and async, and the failure modes
(raising, wrong shapes, wrong dimensions) -- typed errors, knowledge base untouched."""

from __future__ import annotations

import asyncio
import math
from typing import Any, Dict, List, Optional

import pytest

import ragcore
from ragcore import errors
from conftest import AsyncCountingEmbedder, CountingEmbedder, unit

SHIPPING = "How long does shipping take?"


# ---------------------------------------------------------------------------- embedder


@pytest.mark.parametrize("embedder_cls", [CountingEmbedder, AsyncCountingEmbedder])
def test_embedder_blocking(kb_dir: str, faq: List[Dict[str, Any]], embedder_cls: Any) -> None:
    emb = embedder_cls()
    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=emb)
    report = kb.ingest(documents=faq, tenant="acme")
    assert report.chunks_embedded == 3 and report.embedding_tokens > 0
    assert emb.calls == ["passage"]
    answer = kb.ask(SHIPPING, tenant="acme")
    assert answer.citations[0].document_id == "faq#shipping"
    assert "query" in emb.calls
    assert answer.usage.embedding_tokens > 0
    hits = kb.retrieve(SHIPPING, tenant="acme")
    assert hits[0].vector_score is not None and -1.0 <= hits[0].vector_score <= 1.0001


@pytest.mark.parametrize("embedder_cls", [CountingEmbedder, AsyncCountingEmbedder])
def test_embedder_async(kb_dir: str, faq: List[Dict[str, Any]], embedder_cls: Any) -> None:
    async def run() -> None:
        emb = embedder_cls()
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, embedder=emb)
        await kb.ingest(documents=faq, tenant="acme")
        answers = await asyncio.gather(*(kb.ask(SHIPPING, tenant="acme") for _ in range(5)))
        assert all(a.citations[0].document_id == "faq#shipping" for a in answers)
        assert emb.calls.count("query") == 5

    asyncio.run(run())


def test_cancelled_await_leaves_the_kb_usable(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    class SlowQueries(CountingEmbedder):
        async def embed(self, texts: List[str], input_type: str) -> List[List[float]]:  # type: ignore[override]
            if input_type == "query":
                await asyncio.sleep(0.5)
            return CountingEmbedder.embed(self, texts, input_type)

    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, embedder=SlowQueries())
        await kb.ingest(documents=faq, tenant="acme")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(kb.ask(SHIPPING, tenant="acme"), 0.05)
        answer = await kb.ask(SHIPPING, tenant="acme")
        assert answer.citations[0].document_id == "faq#shipping"

    asyncio.run(run())


def test_vectors_are_normalised(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    emb = CountingEmbedder()
    assert not unit(emb.vector("abc"))
    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=emb)
    kb.ingest(documents=faq, tenant="acme")
    hit = kb.retrieve(faq[1]["title"] + "\n" + faq[1]["text"], tenant="acme")[0]
    assert hit.vector_score is not None and math.isclose(hit.vector_score, 1.0, abs_tol=0.05)


def test_raising_embedder_leaves_the_kb_untouched(
    kb_dir: str, faq: List[Dict[str, Any]]
) -> None:
    emb = CountingEmbedder()
    emb.fail_with = ValueError("embedding service down")
    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=emb)
    with pytest.raises(errors.ProviderError) as info:
        kb.ingest(documents=faq, tenant="acme")
    e = info.value
    assert e.kind == "provider" and not e.retryable
    assert "test-chars" in e.message and "embed() raised ValueError: embedding service down" in e.message
    assert isinstance(e.__cause__, ValueError) and str(e.__cause__) == "embedding service down"
    with pytest.raises(errors.NotFoundError):  # nothing was stored for the tenant
        kb.retrieve(SHIPPING, tenant="acme")
    emb.fail_with = None
    report = kb.ingest(documents=faq, tenant="acme")
    assert report.kb_version == 1 and report.documents_added == 3


def test_raising_embedder_async_keeps_retryable(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        emb = AsyncCountingEmbedder()
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, embedder=emb)
        await kb.ingest(documents=faq, tenant="acme")
        emb.fail_with = errors.RagcoreTimeoutError("slow", retryable=True)
        with pytest.raises(errors.ProviderError) as info:
            await kb.ask(SHIPPING, tenant="acme")
        assert info.value.retryable is True
        assert isinstance(info.value.__cause__, errors.RagcoreTimeoutError)

    asyncio.run(run())


def test_wrong_dimension_vector(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    emb = CountingEmbedder(dimensions=8)
    emb.wrong_dims = True
    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=emb)
    with pytest.raises(errors.ProviderError, match="vector of 7 dimensions.*dimensions = 8"):
        kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.NotFoundError):
        kb.ask(SHIPPING, tenant="acme")
    emb.wrong_dims = False
    kb.ingest(documents=faq, tenant="acme")
    emb.wrong_dims = True
    with pytest.raises(errors.ProviderError, match="7 dimensions"):
        kb.ask(SHIPPING, tenant="acme")


class Shaped:
    """An embedder returning whatever `result` gives."""

    model = "shaped"
    dimensions = 3

    def __init__(self, result: Any) -> None:
        self.result = result

    def embed(self, texts: List[str], input_type: str) -> Any:
        return self.result(texts)


@pytest.mark.parametrize(
    "result, pattern",
    [
        (lambda texts: None, "must return a list of"),
        (lambda texts: "vectors", "must return a list of"),
        (lambda texts: [[1.0, 0.0, 0.0]], r"returned 1 vectors for \d+ texts"),
        (lambda texts: [["a", "b", "c"] for _ in texts], "expected a list of 3 floats"),
        (lambda texts: [[float("nan"), 0.0, 0.0] for _ in texts], "NaN or infinite"),
    ],
)
def test_bad_embedder_results(
    kb_dir: str, faq: List[Dict[str, Any]], result: Any, pattern: str
) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=Shaped(result))
    with pytest.raises(errors.ProviderError, match=pattern):
        kb.ingest(documents=faq, tenant="acme")


@pytest.mark.parametrize(
    "attrs, exc, pattern",
    [
        ({"dimensions": 3}, TypeError, "no attribute \"model\""),
        ({"model": "m"}, TypeError, "no attribute \"dimensions\""),
        ({"model": "m", "dimensions": "3"}, TypeError, "must be an int"),
        ({"model": "m", "dimensions": 0}, ValueError, "between 1 and"),
        ({"model": "", "dimensions": 3}, ValueError, "must not be empty"),
        ({"model": "m", "dimensions": 3, "embed": None}, TypeError, "no method embed"),
    ],
)
def test_embedder_attributes_checked_at_open(
    kb_dir: str, attrs: Dict[str, Any], exc: type, pattern: str
) -> None:
    attrs.setdefault("embed", lambda self, texts, input_type: [])
    cls = type("Emb", (), attrs)
    with pytest.raises(exc, match=pattern):
        ragcore.KnowledgeBase.open(kb_dir, embedder=cls())


# ---------------------------------------------------------------------------- guards


class RecordingGuard:
    def __init__(self, name: str, decide: Any, stages: Optional[tuple[str, ...]] = None) -> None:
        self.name = name
        self.decide = decide
        self.seen: List[tuple[str, str, str]] = []
        if stages is not None:
            self.stages = stages

    def check(self, text: str, stage: str, tenant: str) -> Any:
        self.seen.append((text, stage, tenant))
        return self.decide(text, stage)


def test_guard_pass_annotate_redact(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    passing = RecordingGuard("passing", lambda text, stage: None)
    annotating = RecordingGuard(
        "annotating", lambda text, stage: {"action": "annotate", "detail": f"saw {stage}"}
    )
    redacting = RecordingGuard(
        "redacting",
        lambda text, stage: {"action": "redact", "detail": "tidied", "text": text.replace("24 hours", "one day")}
        if stage == "output"
        else None,
    )
    kb = ragcore.KnowledgeBase.open(kb_dir, guards=[passing, annotating, redacting])
    kb.ingest(documents=faq, tenant="acme")
    answer = kb.ask(SHIPPING, tenant="acme")
    assert "one day" in answer.text and "24 hours" not in answer.text
    assert [s for _, s, _ in passing.seen] == ["input", "output"]
    assert passing.seen[0] == (SHIPPING, "input", "acme")
    verdicts = {(v.name, v.stage): v for v in answer.verdicts}
    assert verdicts[("annotating", "input")].action == "annotate"
    assert verdicts[("annotating", "output")].detail == "saw output"
    assert verdicts[("redacting", "output")].action == "redact"
    assert verdicts[("passing", "input")].action == "pass"


def test_guard_stages(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    only_input = RecordingGuard("only_input", lambda text, stage: None, stages=("input",))
    kb = ragcore.KnowledgeBase.open(kb_dir, guards=[only_input])
    kb.ingest(documents=faq, tenant="acme")
    kb.ask(SHIPPING, tenant="acme")
    assert [s for _, s, _ in only_input.seen] == ["input"]
    with pytest.raises(ValueError, match="stages"):
        ragcore.KnowledgeBase.open(kb_dir, guards=[RecordingGuard("g", None, stages=("middle",))])


def test_guard_block(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    blocker = RecordingGuard(
        "no_shipping",
        lambda text, stage: {"action": "block", "detail": "shipping is off-topic"}
        if "shipping" in text
        else None,
    )
    kb = ragcore.KnowledgeBase.open(kb_dir, guards=[blocker])
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.BlockedError, match="no_shipping: shipping is off-topic") as info:
        kb.ask(SHIPPING, tenant="acme")
    assert info.value.kind == "blocked"
    assert kb.ask("退貨要在幾天內申請？", tenant="acme").citations


def test_async_guard_and_blocked_error_from_a_guard(
    kb_dir: str, faq: List[Dict[str, Any]]
) -> None:
    class AsyncGuard:
        name = "async_guard"

        async def check(self, text: str, stage: str, tenant: str) -> Optional[Dict[str, str]]:
            await asyncio.sleep(0)
            if "refund" in text:
                raise errors.BlockedError("refunds go to a human")
            return {"action": "annotate", "detail": "async ok"}

    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, guards=[AsyncGuard()])
        await kb.ingest(documents=faq, tenant="acme")
        answer = await kb.ask(SHIPPING, tenant="acme")
        assert any(v.name == "async_guard" and v.detail == "async ok" for v in answer.verdicts)
        with pytest.raises(errors.BlockedError, match="refunds go to a human") as info:
            await kb.ask("Can I get a refund?", tenant="acme")
        assert isinstance(info.value.__cause__, errors.BlockedError)

    asyncio.run(run())
    # The same async guard under the blocking facade (private event loop).
    kb = ragcore.KnowledgeBase.open(kb_dir, guards=[AsyncGuard()])
    assert kb.ask(SHIPPING, tenant="acme").citations
    with pytest.raises(errors.BlockedError):
        kb.ask("Can I get a refund?", tenant="acme")


@pytest.mark.parametrize(
    "decide, exc, pattern",
    [
        (lambda t, s: 1 / 0, errors.ProviderError, "check\\(\\) raised ZeroDivisionError"),
        (lambda t, s: "block", errors.ProviderError, "must return None or a dict"),
        (lambda t, s: {"action": "explode"}, errors.ProviderError, "action \"explode\""),
        (lambda t, s: {"action": "redact"}, errors.ProviderError, "without the rewritten"),
        (lambda t, s: {"action": "annotate", "detail": 3}, errors.ProviderError, "\"detail\""),
    ],
)
def test_bad_guards(
    kb_dir: str, faq: List[Dict[str, Any]], decide: Any, exc: type, pattern: str
) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir, guards=[RecordingGuard("bad", decide)])
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(exc, match=pattern):
        kb.ask(SHIPPING, tenant="acme")


def test_guard_checked_at_open(kb_dir: str) -> None:
    with pytest.raises(TypeError, match="guards must be a list"):
        ragcore.KnowledgeBase.open(kb_dir, guards=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no attribute \"name\""):
        ragcore.KnowledgeBase.open(kb_dir, guards=[object()])  # type: ignore[list-item]


# ---------------------------------------------------------------------------- chat


class EchoChat:
    """Answers with the first line after the question of passage 1, citing it."""

    name = "echo-chat"

    def __init__(self) -> None:
        self.requests: List[tuple[List[Dict[str, Any]], str, List[Dict[str, Any]]]] = []

    def chat(
        self, messages: List[Dict[str, Any]], question: str, passages: List[Dict[str, Any]]
    ) -> Any:
        self.requests.append((messages, question, passages))
        return f"{passages[0]['text'].splitlines()[-1]} [1]"


def test_chat_model(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    chat = EchoChat()
    kb = ragcore.KnowledgeBase.open(kb_dir, chat=chat)
    assert kb.model == "echo-chat"
    kb.ingest(documents=faq, tenant="acme")
    answer = kb.ask(SHIPPING, tenant="acme")
    assert answer.model == "echo-chat" and not answer.degraded
    assert answer.citations[0].document_id == "faq#shipping"
    assert answer.usage.prompt_tokens > 0 and answer.usage.estimated
    messages, question, passages = chat.requests[0]
    assert question == SHIPPING
    assert [m["role"] for m in messages] == ["system", "user"]
    assert set(passages[0]) == {"index", "chunk_id", "title", "text", "tokens", "is_faq"}
    assert passages[0]["index"] == 1 and passages[0]["is_faq"] is True


def test_async_chat_with_usage_and_refusal(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    class AsyncChat:
        name = "async-chat"

        async def chat(
            self, messages: List[Dict[str, Any]], question: str, passages: List[Dict[str, Any]]
        ) -> Dict[str, Any]:
            await asyncio.sleep(0)
            if "warranty" in question:
                return {"text": "nope", "refused": True}
            return {"text": "Fast. [1]", "prompt_tokens": 11, "completion_tokens": 2}

    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir, chat=AsyncChat())
        await kb.ingest(documents=faq, tenant="acme")
        answer = await kb.ask(SHIPPING, tenant="acme")
        assert answer.text == "Fast. [1]" and answer.citations
        assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (11, 2)
        refused = await kb.ask("How long is the warranty for shipping?", tenant="acme")
        assert refused.no_answer and refused.citations == ()

    asyncio.run(run())


def test_chat_refusal_text_is_no_answer(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    class Refuser:
        name = "refuser"

        def chat(self, messages: List[Dict[str, Any]], question: str, passages: List[Dict[str, Any]]) -> str:
            return "Sorry, the knowledge base does not contain an answer to this question."

    kb = ragcore.KnowledgeBase.open(kb_dir, chat=Refuser())
    kb.ingest(documents=faq, tenant="acme")
    assert kb.ask(SHIPPING, tenant="acme").no_answer


class RaisingChat:
    name = "raising-chat"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def chat(self, messages: List[Dict[str, Any]], question: str, passages: List[Dict[str, Any]]) -> str:
        raise self.exc


def test_raising_chat_degrades_by_default(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir, chat=RaisingChat(RuntimeError("model offline")))
    kb.ingest(documents=faq, tenant="acme")
    answer = kb.ask(SHIPPING, tenant="acme")
    assert answer.degraded and answer.citations
    assert any(v.name == "generate" and "provider" in v.detail for v in answer.verdicts)


def test_raising_chat_without_degradation(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    config = {"degrade_on_model_error": False}
    kb = ragcore.KnowledgeBase.open(
        kb_dir, chat=RaisingChat(RuntimeError("model offline")), config=config
    )
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.ProviderError, match="chat\\(\\) raised RuntimeError: model offline") as info:
        kb.ask(SHIPPING, tenant="acme")
    assert isinstance(info.value.__cause__, RuntimeError)
    budget = ragcore.KnowledgeBase.open(
        kb_dir, chat=RaisingChat(errors.BudgetExceededError("monthly cap")), config=config
    )
    with pytest.raises(errors.BudgetExceededError, match="monthly cap"):
        budget.ask(SHIPPING, tenant="acme")


@pytest.mark.parametrize(
    "reply, pattern",
    [
        (None, "must return a str or a dict"),
        ({"refused": True}, "without a str \"text\""),
        ({"text": "x", "prompt_tokens": -1}, "non-integer \"prompt_tokens\""),
    ],
)
def test_bad_chat_replies(kb_dir: str, faq: List[Dict[str, Any]], reply: Any, pattern: str) -> None:
    class Bad:
        name = "bad-chat"

        def chat(self, messages: Any, question: str, passages: Any) -> Any:
            return reply

    kb = ragcore.KnowledgeBase.open(kb_dir, chat=Bad(), config={"degrade_on_model_error": False})
    kb.ingest(documents=faq, tenant="acme")
    with pytest.raises(errors.ProviderError, match=pattern):
        kb.ask(SHIPPING, tenant="acme")
