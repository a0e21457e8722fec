"""ragcore from Python (release wheel, blocking facade): per-query overhead of ask and retrieve
on an existing knowledge base, and ingestion of the corpus into fresh ones.

usage: ragcore_py.py query KB_DIR QUESTIONS.json N
       ragcore_py.py ingest CORPUS_DIR WORK_DIR RUNS"""
import json
import pathlib
import shutil
import statistics
import sys
import time

import ragcore


def pct(times, p):
    times = sorted(times)
    return round(times[min(len(times) * p // 100, len(times) - 1)], 1)


if sys.argv[1] == "query":
    kb_dir, questions, n = sys.argv[2], json.load(open(sys.argv[3], encoding="utf-8")), int(sys.argv[4])
    kb = ragcore.KnowledgeBase.open(kb_dir)
    for q in questions[:20]:
        kb.ask(q, tenant="bench")
    asks, rets = [], []
    for i in range(n):
        q = questions[i % len(questions)]
        t = time.perf_counter()
        kb.ask(q, tenant="bench")
        asks.append((time.perf_counter() - t) * 1e6)
        t = time.perf_counter()
        kb.retrieve(q, tenant="bench")
        rets.append((time.perf_counter() - t) * 1e6)
    print(json.dumps({"side": "ragcore (Python)", "ask_p50_us": pct(asks, 50), "ask_p95_us": pct(asks, 95), "retrieve_p50_us": pct(rets, 50), "retrieve_p95_us": pct(rets, 95)}))
else:
    corpus, work, runs = sys.argv[2], pathlib.Path(sys.argv[3]), int(sys.argv[4])
    size = sum(p.stat().st_size for p in pathlib.Path(corpus).iterdir())
    times = []
    for r in range(runs):
        d = work / f"py-ingest-{r}"
        shutil.rmtree(d, ignore_errors=True)
        t = time.perf_counter()
        report = ragcore.KnowledgeBase.open(d).ingest(paths=[corpus], tenant="bench")
        times.append(time.perf_counter() - t)
        shutil.rmtree(d, ignore_errors=True)
    med = statistics.median(times)
    print(json.dumps({"side": "ragcore (Python)", "chunks": report.chunks_added, "bytes": size, "median_s": round(med, 4), "mb_per_s": round(size / 1e6 / med, 3)}))
