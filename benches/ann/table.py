#!/usr/bin/env python3
"""Turns the JSON lines of ann_bench (ragcore) and peers.py into Markdown tables with ratios
against hnswlib. Usage: table.py results.jsonl [more.jsonl ...]"""
import json
import sys

TARGET = 0.95
LIBS = ["ragcore", "ragcore-legacy", "hnswlib", "faiss", "usearch"]


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    if "lib" in r:
                        rows.append(r)
    return rows


def best_at(rows, lib, threads, target=TARGET):
    pts = [r for r in rows if r["kind"] == "search" and r["lib"] == lib and r["threads"] == threads
           and r["recall"] >= target]
    return max(pts, key=lambda r: r["qps"]) if pts else None


def main():
    rows = load(sys.argv[1:])
    libs = [l for l in LIBS if any(r["lib"] == l for r in rows)]
    threads = sorted({r["threads"] for r in rows if r["kind"] == "search"})
    out = []
    out.append(f"### QPS at recall@10 >= {TARGET} (best point of the ef sweep), ratio vs hnswlib\n")
    out.append("| library | threads | ef | recall@10 | QPS | × hnswlib |")
    out.append("|---|---|---|---|---|---|")
    for th in threads:
        ref = best_at(rows, "hnswlib", th)
        for lib in libs:
            b = best_at(rows, lib, th)
            if not b:
                out.append(f"| {lib} | {th} | - | < {TARGET} | - | - |")
                continue
            ratio = f"{b['qps'] / ref['qps']:.2f}" if ref else "-"
            out.append(f"| {lib} | {th} | {b['ef']} | {b['recall']:.4f} | {b['qps']:.0f} | {ratio} |")
    out.append("\n### recall@10 vs QPS (every point)\n")
    efs = sorted({r["ef"] for r in rows if r["kind"] == "search"})
    out.append("| library | threads | " + " | ".join(f"ef={e}" for e in efs) + " |")
    out.append("|---|---|" + "---|" * len(efs))
    for th in threads:
        for lib in libs:
            cells = []
            for e in efs:
                r = [x for x in rows if x["kind"] == "search" and x["lib"] == lib
                     and x["threads"] == th and x["ef"] == e]
                cells.append(f"{r[0]['recall']:.3f} @ {r[0]['qps']:.0f}" if r else "-")
            out.append(f"| {lib} | {th} | " + " | ".join(cells) + " |")
    out.append("\n### build (M=16, ef_construction=200) and memory\n")
    out.append("| library | threads | n | build s | × hnswlib | RSS delta MiB |")
    out.append("|---|---|---|---|---|---|")
    ref = next((r for r in rows if r["kind"] == "build" and r["lib"] == "hnswlib"), None)
    for lib in libs:
        for b in (r for r in rows if r["kind"] == "build" and r["lib"] == lib):
            ratio = f"{b['seconds'] / ref['seconds']:.2f}" if ref else "-"
            out.append(f"| {lib} | {b['threads']} | {b['n']} | {b['seconds']:.1f} | {ratio} | "
                       f"{b['rss_delta_mb']:.0f} |")
    out.append("\n### filtered search (tenant of 1% / 10% / 50% of the rows): recall@10 @ QPS\n")
    fr = [r for r in rows if r["kind"] == "filtered"]
    shares = sorted({r["allowed"] for r in fr})
    fefs = sorted({r["ef"] for r in fr})
    out.append("| library | threads | ef | " + " | ".join(f"{int(s * 100)}% allowed" for s in shares)
               + " |")
    out.append("|---|---|---|" + "---|" * len(shares))
    for th in threads:
        for lib in libs:
            for e in fefs:
                cells = []
                for s in shares:
                    r = [x for x in fr if x["lib"] == lib and x["threads"] == th and x["ef"] == e
                         and x["allowed"] == s]
                    if not r:
                        cells.append("-")
                    elif "error" in r[0]:
                        cells.append("error: " + r[0]["error"][:40])
                    else:
                        cells.append(f"{r[0]['recall']:.3f} @ {r[0]['qps']:.0f}")
                if any(c != "-" for c in cells):
                    out.append(f"| {lib} | {th} | {e} | " + " | ".join(cells) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
