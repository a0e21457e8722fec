"""Embeddings classes that hand the peers ragcore's hashing vectors (precomputed by
`peer_bench embed`), so that both sides search the same vectors and no model is called.

In `record` mode the classes remember every text they are asked to embed and return zero
vectors; run.sh embeds the recorded texts with ragcore's HashingEmbedder and the timed run
looks them up (a dict lookup per text, far cheaper than ragcore's own hashing)."""
import json
from typing import List

from langchain_core.embeddings import Embeddings
from llama_index.core.embeddings import BaseEmbedding

DIMS = 512


class Table:
    def __init__(self, texts_path=None, vectors_path=None):
        self.record = texts_path is None
        self.seen: List[str] = []
        self.map = {}
        if not self.record:
            texts = json.load(open(texts_path, encoding="utf-8"))
            vectors = json.load(open(vectors_path, encoding="utf-8"))
            self.map = dict(zip(texts, vectors))

    def get(self, text: str) -> List[float]:
        if self.record:
            self.seen.append(text)
            return [0.0] * DIMS
        return self.map[text]


class LookupEmbeddings(Embeddings):
    """LangChain side."""

    def __init__(self, passages: Table, queries: Table):
        self.passages, self.queries = passages, queries

    def embed_documents(self, texts: List[str]) -> List[List[float]]:
        return [self.passages.get(t) for t in texts]

    def embed_query(self, text: str) -> List[float]:
        return self.queries.get(text)


class LookupEmbedding(BaseEmbedding):
    """LlamaIndex side."""

    model_config = {"arbitrary_types_allowed": True}
    passages: Table
    queries: Table

    def _get_text_embedding(self, text: str) -> List[float]:
        return self.passages.get(text)

    def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return [self.passages.get(t) for t in texts]

    def _get_query_embedding(self, query: str) -> List[float]:
        return self.queries.get(query)

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return self.queries.get(query)
