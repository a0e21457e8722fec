"""Knowledge operations from Python: sync, versions, diff, rollback, verify/repair, drift."""

from __future__ import annotations

import asyncio
import pathlib

import pytest

import ragcore
from ragcore.errors import InvalidInputError


def test_sync_versions_diff_rollback_verify(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ufo.md").write_text("# 飛碟\n我們提供 UFO 保固，期限一百年。", encoding="utf-8")
    (src / "shipping.md").write_text("# 運費\n滿千免運。", encoding="utf-8")
    kb = ragcore.KnowledgeBase.open(tmp_path / "kb")
    r1 = kb.sync(src, tenant="acme")
    assert r1.documents_added == 2
    (src / "ufo.md").unlink()
    r2 = kb.sync(src, tenant="acme")
    assert r2.documents_removed == 1
    assert [v["note"] for v in kb.versions()] == ["sync", "sync"]
    assert kb.diff(r1.kb_version, r2.kb_version, tenant="acme")["removed"] == ["ufo.md"]
    assert kb.ask("UFO 保固多久？", tenant="acme").no_answer

    back = kb.rollback(r1.kb_version, tenant="acme")
    assert back["kb_version"] == r2.kb_version + 1
    assert back["documents_added"] == 1
    answer = kb.ask("UFO 保固多久？", tenant="acme")
    assert not answer.no_answer and "一百年" in answer.text
    assert kb.verify()["missing_in_index"] == 0
    assert kb.repair()["live_chunks"] == 2
    with pytest.raises(InvalidInputError, match="does not exist"):
        kb.rollback(99, tenant="acme")

    drift = kb.drift(tenant="acme")
    assert drift["recent"]["asks"] == 2
    assert drift["recent"]["no_answer_rate"] == 0.5
    assert drift["gaps"][0]["asks"] == 1


def test_async_sync_and_rollback(tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        src = tmp_path / "src"
        src.mkdir()
        (src / "a.md").write_text("# 甲\n甲文件，代號 AAA。", encoding="utf-8")
        kb = await ragcore.AsyncKnowledgeBase.open(tmp_path / "kb")
        r1 = await kb.sync(src, tenant="acme")
        (src / "a.md").write_text("# 甲\n甲文件改了，代號 BBB。", encoding="utf-8")
        r2 = await kb.sync(src, tenant="acme")
        assert r2.documents_changed == 1
        back = await kb.rollback(r1.kb_version, tenant=None)
        assert back["documents_changed"] == 1
        hits = await kb.retrieve("代號 AAA", tenant="acme")
        assert hits and "AAA" in hits[0].text
        assert (await kb.verify())["stray_in_index"] == 0
        assert len(await kb.versions()) == 3

    asyncio.run(main())
