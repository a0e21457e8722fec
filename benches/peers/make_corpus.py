"""Writes the benchmark corpus and question sets from ../shared/data into WORK_DIR.

corpus/   one Markdown file per article: xquad_en (English Wikipedia), covidqa_faq (English FAQ)
          and DRCD (Traditional Chinese Wikipedia), a `# title` heading and its paragraphs
questions.json   English questions (xquad_en) asked of the whole corpus
texts.json       the paragraphs, for the token-count benchmark
"""
import collections
import json
import pathlib
import re
import sys

data, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
corpus = work / "corpus"
corpus.mkdir(parents=True, exist_ok=True)
texts = []
for name in ("xquad_en", "covidqa_faq", "drcd"):
    articles = collections.OrderedDict()
    for line in (data / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            articles.setdefault(row["title"], []).append(row["text"])
            texts.append(row["text"])
    for i, (title, paragraphs) in enumerate(articles.items()):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", title)[:40].strip("-") or "doc"
        body = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        (corpus / f"{name}-{i:04d}-{slug}.md").write_text(body, encoding="utf-8")
questions = []
for line in (data / "xquad_en" / "queries.jsonl").read_text(encoding="utf-8").splitlines():
    if line.strip():
        questions.append(json.loads(line)["question"])
(work / "questions.json").write_text(json.dumps(questions[:300], ensure_ascii=False), encoding="utf-8")
(work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
size = sum(p.stat().st_size for p in corpus.iterdir())
print(json.dumps({"files": len(list(corpus.iterdir())), "bytes": size, "questions": len(questions[:300]), "texts": len(texts)}))
