"""Ingestion throughput of LangChain and LlamaIndex: load the Markdown corpus, chunk it to 256
cl100k_base tokens with 32 overlap, count every chunk's tokens, and index (vector store + BM25
for LangChain, VectorStoreIndex for LlamaIndex) with ragcore's hashing vectors looked up.

usage: ingest_peers.py record CORPUS_DIR WORK_DIR          writes the texts each side embeds
       ingest_peers.py time CORPUS_DIR WORK_DIR RUNS        times RUNS ingests of each side"""
import json
import pathlib
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import tiktoken
from langchain_community.document_loaders import DirectoryLoader, TextLoader
from langchain_community.retrievers import BM25Retriever
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter
from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter

from lookup import LookupEmbedding, LookupEmbeddings, Table

mode, corpus, work = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
enc = tiktoken.get_encoding("cl100k_base")


def langchain(passages):
    docs = DirectoryLoader(corpus, glob="*.md", loader_cls=TextLoader, loader_kwargs={"encoding": "utf-8"}).load()
    docs.sort(key=lambda d: d.metadata["source"])
    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name="cl100k_base", chunk_size=256, chunk_overlap=32)
    chunks = splitter.split_documents(docs)
    for c in chunks:
        c.metadata["tokens"] = len(enc.encode_ordinary(c.page_content))
    store = InMemoryVectorStore(embedding=LookupEmbeddings(passages, Table()))
    store.add_documents(chunks)
    BM25Retriever.from_documents(chunks, k=5)
    return len(docs), len(chunks)


def llamaindex(passages):
    docs = SimpleDirectoryReader(corpus, required_exts=[".md"]).load_data()
    nodes = SentenceSplitter(chunk_size=256, chunk_overlap=32).get_nodes_from_documents(docs)
    for n in nodes:
        n.metadata["tokens"] = len(enc.encode_ordinary(n.get_content()))
    VectorStoreIndex(nodes, embed_model=LookupEmbedding(passages=passages, queries=Table()))
    return len(docs), len(nodes)


sides = (("LangChain", langchain), ("LlamaIndex", llamaindex))
if mode == "record":
    for name, fn in sides:
        t = Table()
        fn(t)
        (work / f"{name}-texts.json").write_text(json.dumps(t.seen, ensure_ascii=False), encoding="utf-8")
        print(json.dumps({"side": name, "recorded": len(t.seen)}))
else:
    runs = int(sys.argv[4])
    size = sum(p.stat().st_size for p in pathlib.Path(corpus).iterdir())
    for name, fn in sides:
        table = Table(work / f"{name}-texts.json", work / f"{name}-vectors.json")
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            docs, chunks = fn(table)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(json.dumps({"side": name, "documents": docs, "chunks": chunks, "bytes": size, "median_s": round(med, 4), "mb_per_s": round(size / 1e6 / med, 3)}))
