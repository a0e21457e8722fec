"""Python tiktoken counting cl100k_base tokens of the same texts as `peer_bench tokens`:
one thread (encode_ordinary per text) and encode_ordinary_batch (its thread pool).
usage: tiktoken_peer.py TEXTS.json ROUNDS   (TIKTOKEN_CACHE_DIR must hold the BPE file offline)"""
import json
import statistics
import sys
import time

import tiktoken

texts, rounds = json.load(open(sys.argv[1], encoding="utf-8")), int(sys.argv[2])
enc = tiktoken.get_encoding("cl100k_base")
size = sum(len(t.encode()) for t in texts)
total = sum(len(enc.encode_ordinary(t)) for t in texts)
for name, fn in (
    ("tiktoken (Python, 1 thread)", lambda: sum(len(enc.encode_ordinary(t)) for t in texts)),
    ("tiktoken encode_ordinary_batch (8 threads)", lambda: sum(map(len, enc.encode_ordinary_batch(texts)))),
):
    assert fn() == total
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(json.dumps({"side": name, "texts": len(texts), "tokens": total, "median_s": round(med, 5), "mb_per_s": round(size / 1e6 / med, 3)}))
