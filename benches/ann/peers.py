#!/usr/bin/env python3
"""hnswlib, faiss IndexHNSWFlat and usearch on the vectors cached by embed.py.

Same parameters as the ragcore run (M, ef_construction, ef sweep, 1 and 2 threads, inner product
on normalised vectors) and the same filtered-search tenants: row i is in bucket (i*7919) % 100;
bucket 0 is the 1% tenant, 1..10 the 10% one, 11..60 the 50% one. Prints one JSON object per
measurement (build, search, filtered), like `cargo run --example ann_bench`.

Usage: peers.py [--data DIR] [--libs hnswlib,faiss,usearch] [--ef 16,32,...] [--threads 1,2]
                [--build-threads 2] [--m 16] [--efc 200] [--reps 2] [--filtered-ef 64,128]
"""
import argparse
import gc
import json
import os
import time

import numpy as np
import psutil

K = 10


def rss():
    return psutil.Process().memory_info().rss


def emit(**kw):
    print(json.dumps(kw), flush=True)


def recall(found, truth):
    hit = sum(len(set(f[:K]).intersection(t[:K])) for f, t in zip(found, truth))
    return hit / (len(truth) * K)


def tenants(n):
    b = (np.arange(n, dtype=np.int64) * 7919) % 100
    return {0.01: b == 0, 0.10: (b >= 1) & (b <= 10), 0.50: (b >= 11) & (b <= 60)}


def filtered_truth(base, q, mask):
    ids = np.nonzero(mask)[0]
    s = q @ base[ids].T
    top = np.argsort(-s, axis=1, kind="stable")[:, :K]
    return ids[top]


def timed(fn, reps):
    best, out = 0.0, None
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = max(best, 1.0 / dt)
    return best, out


def bench_hnswlib(a, base, q, gt, masks):
    import hnswlib
    n, d = base.shape
    gc.collect()
    r0 = rss()
    t = time.perf_counter()
    idx = hnswlib.Index(space="ip", dim=d)
    idx.init_index(max_elements=n, M=a.m, ef_construction=a.efc, random_seed=1)
    idx.add_items(base, np.arange(n), num_threads=a.build_threads)
    bt = time.perf_counter() - t
    emit(lib="hnswlib", kind="build", threads=a.build_threads, n=n, m=a.m, ef_construction=a.efc,
         seconds=bt, rss_delta_mb=(rss() - r0) / 2**20)
    nq = len(q)
    for th in a.threads:
        for ef in a.ef:
            idx.set_ef(max(ef, K))
            inv, (labels, _) = timed(lambda: idx.knn_query(q, k=K, num_threads=th), a.reps)
            emit(lib="hnswlib", kind="search", threads=th, ef=ef, recall=recall(labels.tolist(), gt),
                 qps=nq * inv)
    for share, mask in masks.items():
        truth = filtered_truth(base, q, mask).tolist()
        allowed = mask
        # hnswlib's filter is a Python callable: with 2 threads the threads serialise on the GIL
        # (about 30 QPS), so the filtered rows run on 1 thread only.
        for th in [1]:
            for ef in a.filtered_ef:
                idx.set_ef(max(ef, K))
                # hnswlib's filter is a Python callable per visited node (its only filter API).
                try:
                    inv, (labels, _) = timed(
                        lambda: idx.knn_query(q, k=K, num_threads=th,
                                              filter=lambda i: bool(allowed[i])),
                        a.reps)
                except RuntimeError as e:  # fewer than k found for some query
                    emit(lib="hnswlib", kind="filtered", allowed=share, threads=th, ef=ef,
                         error=str(e))
                    continue
                emit(lib="hnswlib", kind="filtered", allowed=share, threads=th, ef=ef,
                     recall=recall(labels.tolist(), truth), qps=nq * inv)


def bench_faiss(a, base, q, gt, masks):
    import faiss
    n, d = base.shape
    gc.collect()
    r0 = rss()
    faiss.omp_set_num_threads(a.build_threads)
    t = time.perf_counter()
    idx = faiss.IndexHNSWFlat(d, a.m, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = a.efc
    idx.add(base)
    bt = time.perf_counter() - t
    emit(lib="faiss", kind="build", threads=a.build_threads, n=n, m=a.m, ef_construction=a.efc,
         seconds=bt, rss_delta_mb=(rss() - r0) / 2**20)
    nq = len(q)
    for th in a.threads:
        faiss.omp_set_num_threads(th)
        for ef in a.ef:
            p = faiss.SearchParametersHNSW(efSearch=max(ef, K))
            inv, (_, labels) = timed(lambda: idx.search(q, K, params=p), a.reps)
            emit(lib="faiss", kind="search", threads=th, ef=ef, recall=recall(labels.tolist(), gt),
                 qps=nq * inv)
    for share, mask in masks.items():
        truth = filtered_truth(base, q, mask).tolist()
        ids = np.nonzero(mask)[0].astype(np.int64)
        bitmap = np.packbits(mask, bitorder="little")
        sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))
        for th in a.threads:
            faiss.omp_set_num_threads(th)
            for ef in a.filtered_ef:
                p = faiss.SearchParametersHNSW(efSearch=max(ef, K), sel=sel)
                inv, (_, labels) = timed(lambda: idx.search(q, K, params=p), a.reps)
                emit(lib="faiss", kind="filtered", allowed=share, threads=th, ef=ef,
                     recall=recall(labels.tolist(), truth), qps=nq * inv)
        del ids


def bench_usearch(a, base, q, gt, masks):
    from usearch.index import Index
    n, d = base.shape
    gc.collect()
    r0 = rss()
    t = time.perf_counter()
    idx = Index(ndim=d, metric="ip", dtype="f32", connectivity=a.m, expansion_add=a.efc)
    idx.add(np.arange(n), base, threads=a.build_threads)
    bt = time.perf_counter() - t
    emit(lib="usearch", kind="build", threads=a.build_threads, n=n, m=a.m, ef_construction=a.efc,
         seconds=bt, rss_delta_mb=(rss() - r0) / 2**20)
    nq = len(q)
    for th in a.threads:
        for ef in a.ef:
            idx.expansion_search = max(ef, K)
            inv, res = timed(lambda: idx.search(q, K, threads=th), a.reps)
            emit(lib="usearch", kind="search", threads=th, ef=ef,
                 recall=recall(res.keys.tolist(), gt), qps=nq * inv)
    # usearch's Python API has no filter predicate for HNSW search: no filtered rows.


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("RAGCORE_BENCH_CACHE")
                    or os.path.expanduser("~/.cache/ragcore/bench/ann"))
    ap.add_argument("--libs", default="hnswlib,faiss,usearch")
    ap.add_argument("--ef", default="16,32,64,128,256")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--filtered-ef", default="64,128")
    a = ap.parse_args()
    a.ef = [int(x) for x in a.ef.split(",")]
    a.filtered_ef = [int(x) for x in a.filtered_ef.split(",")]
    a.threads = [int(x) for x in a.threads.split(",")]
    man = json.load(open(os.path.join(a.data, "manifest.json")))
    n, d = man["n"], man["dim"]
    base = np.fromfile(os.path.join(a.data, "base.f32"), dtype="<f4").reshape(n, d)
    q = np.fromfile(os.path.join(a.data, "queries.f32"), dtype="<f4").reshape(-1, d)
    gt = np.fromfile(os.path.join(a.data, "gt.i32"), dtype="<i4").reshape(-1, K).tolist()
    masks = tenants(n)
    for lib in a.libs.split(","):
        {"hnswlib": bench_hnswlib, "faiss": bench_faiss, "usearch": bench_usearch}[lib](
            a, base, q, gt, masks)
        gc.collect()


if __name__ == "__main__":
    main()
