"""The two facades (async and blocking), typed results, argument checks, config, fork safety."""

from __future__ import annotations

import _thread
import asyncio
import gc
import os
import pathlib
import threading
import time
from typing import Any, Dict, List

import pytest

import ragcore
from conftest import REPO


def test_version_and_exports() -> None:
    assert ragcore.__version__
    for name in ragcore.__all__:
        assert hasattr(ragcore, name), name


def test_blocking_roundtrip(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    assert kb.model == "extractive"
    assert kb.path == kb_dir
    assert "KnowledgeBase(" in repr(kb)

    report = kb.ingest(documents=faq, tenant="acme")
    assert isinstance(report, ragcore.IngestReport)
    assert (report.documents_seen, report.documents_added, report.errors) == (3, 3, ())
    assert report.kb_version == 1
    assert "IngestReport(" in repr(report)

    again = kb.ingest(documents=faq, tenant="acme")
    assert again.documents_unchanged == 3 and again.chunks_embedded == 0

    answer = kb.ask("How long does shipping take?", tenant="acme")
    assert isinstance(answer, ragcore.Answer)
    assert answer.text.endswith("[1]") and not answer.no_answer
    (citation,) = answer.citations
    assert isinstance(citation, ragcore.Citation)
    assert citation.index == 1 and citation.document_id == "faq#shipping"
    assert isinstance(answer.usage, ragcore.Usage)
    assert isinstance(answer.cost, ragcore.Cost)
    assert answer.cost.total_usd == 0.0
    assert all(isinstance(v, ragcore.Verdict) for v in answer.verdicts)
    assert "no_answer" in {v.name for v in answer.verdicts}
    assert "retrieve" in answer.timings
    assert answer.model == "extractive" and answer.prompt_version
    assert "Answer(text=" in repr(answer)
    with pytest.raises(AttributeError):
        answer.text = "changed"  # type: ignore[misc]

    hits = kb.retrieve("退貨要在幾天內申請？", tenant="acme")
    assert isinstance(hits, list) and isinstance(hits[0], ragcore.Hit)
    assert hits[0].document_id == "faq#return" and hits[0].kind == "faq"
    assert hits[0].score > 0 and "Hit(chunk_id=" in repr(hits[0])


def test_async_roundtrip(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir)
        assert "AsyncKnowledgeBase(" in repr(kb)
        report = await kb.ingest(documents=faq, tenant="acme")
        assert report.documents_added == 3
        questions = ["How long does shipping take?", "退貨要在幾天內申請？"] * 4
        answers = await asyncio.gather(*(kb.ask(q, tenant="acme") for q in questions))
        assert [a.citations[0].document_id for a in answers] == [
            "faq#shipping",
            "faq#return",
        ] * 4
        hits = await kb.retrieve("shipping", tenant="acme")
        assert hits[0].document_id == "faq#shipping"

    asyncio.run(run())


def test_async_and_blocking_share_the_store(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    async def ingest() -> None:
        kb = await ragcore.AsyncKnowledgeBase.open(kb_dir)
        await kb.ingest(documents=faq, tenant="acme")

    asyncio.run(ingest())
    kb = ragcore.KnowledgeBase.open(kb_dir)
    assert kb.ask("How long does shipping take?", tenant="acme").citations


def test_acl_principals_and_scope(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    hidden = kb.ask("年終獎金什麼時候發放？", tenant="acme")
    assert hidden.no_answer and hidden.citations == ()
    visible = kb.ask("年終獎金什麼時候發放？", tenant="acme", principals=["hr"])
    assert visible.citations[0].document_id == "hr/bonus.md"
    via_scope = kb.ask("年終獎金什麼時候發放？", scope=ragcore.Scope("acme", ("hr",)))
    assert via_scope.text == visible.text
    with pytest.raises(ValueError, match="either scope"):
        kb.ask("x", tenant="acme", scope=ragcore.Scope("acme"))
    with pytest.raises(TypeError, match="ragcore.Scope"):
        kb.ask("x", scope="acme")  # type: ignore[arg-type]


def test_document_objects_metadata_and_ingest_acl(kb_dir: str) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    doc = ragcore.Document(
        id="notes/a",
        text="The office closes at 6 pm on Fridays.",
        metadata={"lang": "en"},
        source="notes/a.txt",
    )
    assert "title" not in doc.to_dict() and doc.to_dict()["metadata"] == {"lang": "en"}
    report = kb.ingest(documents=[doc], tenant="t1", acl=["staff"])
    assert report.documents_added == 1
    # The ingest-level ACL applies to documents that carry none of their own.
    q = "When does the office close on Fridays?"
    assert all(h.document_id != "notes/a" for h in kb.retrieve(q, tenant="t1"))
    hits = kb.retrieve(q, tenant="t1", principals=["staff"])
    assert hits[0].document_id == "notes/a" and hits[0].title == "notes/a"


def test_ingest_paths(kb_dir: str) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    faq_dir = REPO / "examples" / "faq"
    report = kb.ingest(paths=[faq_dir, str(faq_dir / "faq_zh.csv")], tenant="acme")
    assert report.documents_added > 0
    missing = kb.ingest(paths=[str(faq_dir / "missing.txt")], tenant="acme")
    assert [e.kind for e in missing.errors] == ["load"]
    assert isinstance(missing.errors[0], ragcore.IngestError)


def test_reopen_keeps_the_knowledge_base(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(pathlib.Path(kb_dir))
    kb.ingest(documents=faq, tenant="acme")
    del kb
    reopened = ragcore.KnowledgeBase.open(kb_dir)
    assert reopened.ask("How long does shipping take?", tenant="acme").citations


def test_config_overrides(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(
        kb_dir,
        config={"retrieval": {"top_k": 1}, "no_answer_text": "No idea."},
    )
    kb.ingest(documents=faq, tenant="acme")
    assert len(kb.retrieve("shipping returns bonus", tenant="acme")) == 1
    assert kb.ask("Do you sell UFO warranties?", tenant="acme").text == "No idea."


def test_bad_config(kb_dir: str) -> None:
    with pytest.raises(ValueError, match=r"unknown config key \"config.retrieval.topk\""):
        ragcore.KnowledgeBase.open(kb_dir, config={"retrieval": {"topk": 3}})
    with pytest.raises(ValueError, match="invalid config"):
        ragcore.KnowledgeBase.open(kb_dir, config={"context_tokens": "many"})
    with pytest.raises(TypeError, match="config must be a dict"):
        ragcore.KnowledgeBase.open(kb_dir, config=[("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(ragcore.errors.InvalidInputError, match="embed_batch"):
        ragcore.KnowledgeBase.open(kb_dir, config={"embed_batch": 0})


def test_argument_types(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    bad: List[Any] = [
        (TypeError, "path must be a str", lambda: ragcore.KnowledgeBase.open(None)),  # type: ignore[arg-type]
        (TypeError, "path must be a str", lambda: ragcore.KnowledgeBase.open(42)),  # type: ignore[arg-type]
        (TypeError, "question must be a str, got None", lambda: kb.ask(None)),  # type: ignore[arg-type]
        (TypeError, "question must be a str, got int", lambda: kb.retrieve(7)),  # type: ignore[arg-type]
        (TypeError, "tenant must be a str", lambda: kb.ask("x", tenant=None)),  # type: ignore[arg-type]
        (TypeError, "single str", lambda: kb.ask("x", tenant="acme", principals="hr")),
        (TypeError, r"principals\[1\] must be a str", lambda: kb.ask("x", principals=["a", 2])),  # type: ignore[list-item]
        (TypeError, "single str", lambda: kb.ingest(paths="docs")),
        (TypeError, "paths must be a list", lambda: kb.ingest(paths=3)),  # type: ignore[arg-type]
        (TypeError, "single dict", lambda: kb.ingest(documents={"id": "a", "text": "b"})),  # type: ignore[arg-type]
        (TypeError, r"documents\[0\] must be a dict", lambda: kb.ingest(documents=["text"])),  # type: ignore[list-item]
        (ValueError, r"documents\[0\] has no 'text'", lambda: kb.ingest(documents=[{"id": "a"}])),
        (ValueError, "unknown key \"body\"", lambda: kb.ingest(documents=[{"id": "a", "body": "b"}])),
        (ValueError, "must be \"text\" or \"faq\"", lambda: kb.ingest(documents=[{"id": "a", "text": "b", "kind": "pdf"}])),
        (TypeError, r"\[\"text\"\] must be a str", lambda: kb.ingest(documents=[{"id": "a", "text": 5}])),
        (TypeError, "metadata", lambda: kb.ingest(documents=[{"id": "a", "text": "b", "metadata": {"k": 1}}])),
        (TypeError, "acl", lambda: kb.ingest(documents=[{"id": "a", "text": "b", "acl": "hr"}])),
        (TypeError, "open", lambda: ragcore.KnowledgeBase(object())),  # type: ignore[arg-type]
    ]
    for exc, pattern, call in bad:
        with pytest.raises(exc, match=pattern):
            call()
    # Nothing above reached the store.
    assert kb.ingest(documents=faq, tenant="acme").documents_unchanged == 3


def test_await_outside_event_loop_is_a_clear_error(kb_dir: str) -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        # Calling the native async method without a running loop.
        ragcore.KnowledgeBase.open(kb_dir)._native.ask_async("x", "default", None)


def test_blocking_calls_from_threads(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    kb = ragcore.KnowledgeBase.open(kb_dir)
    kb.ingest(documents=faq, tenant="acme")
    results: List[str] = []
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(kb.ask("How long does shipping take?", tenant="acme").text)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 20 and len(set(results)) == 1


def test_gil_is_released_while_blocking(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    """A Python thread keeps running while another blocks in ragcore."""

    class SlowEmbedder:
        model = "slow"
        dimensions = 4

        def embed(self, texts: List[str], input_type: str) -> List[List[float]]:
            time.sleep(0.3)  # releases the GIL too; the point is the caller's thread
            return [[1.0, 0.0, 0.0, float(len(t) % 3)] for t in texts]

    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=SlowEmbedder())
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        kb.ingest(documents=faq, tenant="acme")
    finally:
        stop.set()
        t.join()
    assert ticks > 5


def test_ctrl_c_interrupts_a_blocking_call(kb_dir: str, faq: List[Dict[str, Any]]) -> None:
    class SlowEmbedder:
        model = "slow"
        dimensions = 4

        def embed(self, texts: List[str], input_type: str) -> List[List[float]]:
            time.sleep(1.0)
            return [[1.0, 0.0, 0.0, float(len(t) % 3)] for t in texts]

    kb = ragcore.KnowledgeBase.open(kb_dir, embedder=SlowEmbedder())
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        kb.ingest(documents=faq, tenant="acme")
    assert time.monotonic() - started < 0.9
    time.sleep(1.0)  # let the abandoned embed() call finish
    with pytest.raises(ragcore.errors.NotFoundError):  # the interrupted ingest wrote nothing
        kb.retrieve("shipping", tenant="acme")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_safety(tmp_path: pathlib.Path, faq: List[Dict[str, Any]]) -> None:
    """A forked child gets its own runtime; the parent's handles are refused there (and never
    dropped there: that would touch the parent's connections and index threads)."""
    parent = ragcore.KnowledgeBase.open(str(tmp_path / "parent"))
    parent.ingest(documents=faq, tenant="acme")
    assert parent.ask("How long does shipping take?", tenant="acme").citations
    # Build and drop an index in the parent, so the child inherits its thread pools' state.
    dropped = ragcore.KnowledgeBase.open(str(tmp_path / "dropped"))
    dropped.ingest(documents=faq, tenant="acme")
    del dropped
    gc.collect()

    pid = os.fork()
    if pid == 0:  # child: must neither hang nor crash
        code = 1
        try:
            try:
                parent.ask("How long does shipping take?", tenant="acme")
                code = 3
            except ragcore.errors.StorageError as e:
                code = 0 if "fork" in e.message else 4
            child = ragcore.KnowledgeBase.open(str(tmp_path / "child"))
            child.ingest(documents=faq, tenant="acme")
            ok = bool(child.ask("How long does shipping take?", tenant="acme").citations)

            async def via_async() -> bool:
                kb = await ragcore.AsyncKnowledgeBase.open(str(tmp_path / "child"))
                return bool((await kb.ask("退貨要在幾天內申請？", tenant="acme")).citations)

            ok = ok and asyncio.run(via_async())
            del child
            gc.collect()
            code = code if ok else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # The parent still works after the fork.
    assert parent.ask("退貨要在幾天內申請？", tenant="acme").citations
