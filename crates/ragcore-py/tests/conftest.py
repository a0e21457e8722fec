"""Shared fixtures of the ragcore Python tests (run against the installed wheel)."""

from __future__ import annotations

import math
import pathlib
from typing import Any, Dict, List

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]

FAQ = [
    {
        "id": "faq#return",
        "kind": "faq",
        "title": "退貨要在幾天內申請？",
        "text": "退貨要在幾天內申請？\n收到商品後 7 天內可以申請退貨，請保持商品與包裝完整。",
    },
    {
        "id": "faq#shipping",
        "kind": "faq",
        "title": "How long does shipping take?",
        "text": "How long does shipping take?\nIn-stock items ship within 24 hours and arrive in 1 to 2 days.",
    },
    {
        "id": "hr/bonus.md",
        "title": "年終獎金",
        "text": "# 年終獎金\n年終獎金於每年一月底發放，金額依考績計算。",
        "acl": ["hr"],
    },
]


@pytest.fixture
def faq() -> List[Dict[str, Any]]:
    return [dict(d) for d in FAQ]


@pytest.fixture
def kb_dir(tmp_path: pathlib.Path) -> str:
    return str(tmp_path / "kb")


class CountingEmbedder:
    """A deterministic bag-of-characters embedder, sync; records its calls."""

    def __init__(self, dimensions: int = 16, model: str = "test-chars") -> None:
        self.model = model
        self.dimensions = dimensions
        self.calls: List[str] = []
        self.fail_with: Exception | None = None
        self.wrong_dims = False

    def vector(self, text: str) -> List[float]:
        v = [0.0] * self.dimensions
        for ch in text:
            v[ord(ch) % self.dimensions] += 1.0
        if not any(v):
            v[0] = 1.0
        return v

    def embed(self, texts: List[str], input_type: str) -> List[List[float]]:
        self.calls.append(input_type)
        if self.fail_with is not None:
            raise self.fail_with
        n = self.dimensions - 1 if self.wrong_dims else self.dimensions
        return [self.vector(t)[:n] for t in texts]


class AsyncCountingEmbedder(CountingEmbedder):
    """The same embedder with an ``async def embed``."""

    async def embed(self, texts: List[str], input_type: str) -> List[List[float]]:  # type: ignore[override]
        import asyncio

        await asyncio.sleep(0)
        return CountingEmbedder.embed(self, texts, input_type)


def unit(v: List[float]) -> bool:
    return abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-5
