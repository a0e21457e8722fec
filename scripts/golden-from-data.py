#!/usr/bin/env python3
"""Build a golden set for `ragcore eval` from a QA data set in ../shared/data (corpus.jsonl +
queries.jsonl, as in drcd/ and covidqa_faq/).

Half of the articles (a stable FNV-1a split of article_id, the same as `ragcore retrieval-eval
--no-answer`) are kept in the corpus; questions about the other half become unanswerable cases,
so the set measures both answering and honest refusal.

    python3 scripts/golden-from-data.py ../shared/data/drcd target/golden/drcd --limit 300
    ragcore eval target/golden/drcd/golden.jsonl --corpus target/golden/drcd/corpus.jsonl

Writes OUT/corpus.jsonl (the kept documents) and OUT/golden.jsonl. Nothing is committed: the
data stays in ../shared/data.
"""
import argparse
import json
import os


def fnv_half(key: str) -> bool:
    h = 0xCBF29CE484222325
    for b in key.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % 2 == 0


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="data set folder with corpus.jsonl and queries.jsonl")
    ap.add_argument("out", help="output folder")
    ap.add_argument("--limit", type=int, default=0, help="at most this many questions (0: all)")
    ap.add_argument("--all-answerable", action="store_true", help="keep every article (no unanswerable cases)")
    a = ap.parse_args()
    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(a.data, "queries.jsonl"))
    group = {r["id"]: r.get("article_id") or r["id"] for r in corpus}
    kept = {r["id"] for r in corpus if a.all_answerable or fnv_half(group[r["id"]])}
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in corpus:
            if r["id"] in kept:
                f.write(json.dumps({"id": r["id"], "title": r.get("title", ""), "text": r["text"]}, ensure_ascii=False) + "\n")
    if a.limit and len(queries) > a.limit:
        # An even spread over the file (queries are grouped by article).
        step = len(queries) / a.limit
        queries = [queries[int(i * step)] for i in range(a.limit)]
    n = {True: 0, False: 0}
    with open(os.path.join(a.out, "golden.jsonl"), "w", encoding="utf-8") as f:
        for q in queries:
            gold = q["gold_paragraph_id"]
            answerable = gold in kept
            case = {"id": q["id"], "question": q["question"], "answerable": answerable}
            if answerable:
                case["expected_doc_ids"] = [gold]
                answers = q.get("answers") or []
                # Short answer spans (DRCD) are checked as substrings; whole FAQ answers are not.
                short = [x for x in answers if len(x) <= 40]
                if short:
                    case["expected_answers"] = short
            n[answerable] += 1
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    print(f"{a.out}: {len(kept)} documents, {n[True]} answerable and {n[False]} unanswerable questions")


if __name__ == "__main__":
    main()
