"""Per-query overhead of LangChain and LlamaIndex on ragcore's own chunks and vectors.

Reads the live chunks (text + hashing vector) of tenant `bench` from ragcore's kb.sqlite, builds
  LangChain:  InMemoryVectorStore + BM25Retriever, fused by EnsembleRetriever (k=5 each), then a
              PromptTemplate with the numbered passages
  LlamaIndex: VectorStoreIndex over TextNodes carrying the vectors, index.as_retriever(top_k=5),
              then a PromptTemplate with the passages
and times retrieval + prompt per question (query vectors are looked up, no model is called).
usage: query_peers.py KB_DIR QUESTIONS.json QVECS.json N"""
import json
import sqlite3
import statistics
import struct
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from langchain_classic.retrievers import EnsembleRetriever
from langchain_community.retrievers import BM25Retriever
from langchain_core.documents import Document
from langchain_core.prompts import PromptTemplate
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import PromptTemplate as LlamaPrompt
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import TextNode

from lookup import LookupEmbedding, LookupEmbeddings, Table

kb, questions_path, qvecs_path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
questions = json.load(open(questions_path, encoding="utf-8"))
db = sqlite3.connect(f"file:{kb}/kb.sqlite?mode=ro", uri=True)
rows = db.execute(
    "SELECT c.chunk_id, c.text, c.vector FROM chunks c JOIN tenants t ON t.id = c.tenant_id "
    "WHERE t.name = 'bench' AND c.version_removed IS NULL ORDER BY c.rowid"
).fetchall()
chunks = [(cid, text, list(struct.unpack(f"<{len(blob) // 4}f", blob))) for cid, text, blob in rows]
queries = Table(questions_path, qvecs_path)
passages = Table()
passages.record = False
passages.map = {text: vec for _, text, vec in chunks}

TEMPLATE = (
    "Answer from the numbered passages only and cite them as [n].\n\n{context}\n\n"
    "Question: {question}\nAnswer:"
)


def lc_setup():
    emb = LookupEmbeddings(passages, queries)
    docs = [Document(page_content=text, id=cid) for cid, text, _ in chunks]
    store = InMemoryVectorStore(embedding=emb)
    store.add_documents(docs, ids=[cid for cid, _, _ in chunks])
    bm25 = BM25Retriever.from_documents(docs, k=5)
    ens = EnsembleRetriever(retrievers=[store.as_retriever(search_kwargs={"k": 5}), bm25], weights=[0.5, 0.5])
    prompt = PromptTemplate.from_template(TEMPLATE)

    def one(q):
        hits = ens.invoke(q)
        context = "\n\n".join(f"[{i + 1}] {d.page_content}" for i, d in enumerate(hits[:5]))
        return prompt.format(context=context, question=q)

    return one


def li_setup():
    emb = LookupEmbedding(passages=passages, queries=queries)
    nodes = [TextNode(text=text, id_=cid, embedding=vec) for cid, text, vec in chunks]
    index = VectorStoreIndex(nodes, embed_model=emb)
    retriever = index.as_retriever(similarity_top_k=5)
    prompt = LlamaPrompt(TEMPLATE.replace("{context}", "{context_str}").replace("{question}", "{query_str}"))

    def one(q):
        hits = retriever.retrieve(q)
        context = "\n\n".join(f"[{i + 1}] {h.node.get_content()}" for i, h in enumerate(hits))
        return prompt.format(context_str=context, query_str=q)

    return one


for name, setup in (("LangChain (vector + BM25 + ensemble + prompt)", lc_setup), ("LlamaIndex (vector + prompt)", li_setup)):
    one = setup()
    for q in questions[:20]:
        one(q)
    times = []
    for i in range(n):
        q = questions[i % len(questions)]
        t = time.perf_counter()
        one(q)
        times.append((time.perf_counter() - t) * 1e6)
    times.sort()
    print(json.dumps({"side": name, "chunks": len(chunks), "p50_us": round(statistics.median(times), 1), "p95_us": round(times[len(times) * 95 // 100], 1)}))
