"""Python side of the binding-overhead benchmark: times KnowledgeBase.retrieve (blocking facade)."""
import json
import statistics
import sys
import time

import ragcore

kb_dir, tenant, iterations, questions = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
kb = ragcore.KnowledgeBase.open(kb_dir)
for q in questions:
    kb.retrieve(q, tenant=tenant)
times = []
for i in range(iterations):
    q = questions[i % len(questions)]
    t = time.perf_counter()
    kb.retrieve(q, tenant=tenant)
    times.append((time.perf_counter() - t) * 1e6)
times.sort()
print(json.dumps({"lang": "python", "median_us": round(statistics.median(times), 1), "p95_us": round(times[len(times) * 95 // 100], 1)}))
