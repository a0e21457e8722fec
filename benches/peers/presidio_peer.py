"""presidio-analyzer with its predefined pattern recognizers only (no spaCy/NER model: that
needs a download) on the same 2 KB text as `peer_bench guards`.

The NLP engine is a stub that returns empty NLP artifacts (no tokens, no lemmas, no entities),
so presidio's cost is its regex/checksum recognizers plus the analyzer's own bookkeeping;
context-word enhancement finds no lemmas and changes nothing.
usage: presidio_peer.py TEXT_FILE N"""
import json
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine


class NoNlpEngine(NlpEngine):
    """An NLP engine that does no NLP: presidio's pattern recognizers need none."""

    def load(self):
        pass

    def is_loaded(self):
        return True

    def process_text(self, text, language):
        return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language)

    def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
        for t in texts:
            yield t, self.process_text(t, language)

    def is_stopword(self, word, language):
        return False

    def is_punct(self, word, language):
        return False

    def get_supported_entities(self):
        return []

    def get_supported_languages(self):
        return ["en"]


text, n = open(sys.argv[1], encoding="utf-8").read(), int(sys.argv[2])
registry = RecognizerRegistry(supported_languages=["en"])
registry.load_predefined_recognizers(languages=["en"])
for r in list(registry.recognizers):
    if type(r).__name__ in ("SpacyRecognizer", "StanzaRecognizer", "TransformersRecognizer", "GLiNERRecognizer"):
        registry.remove_recognizer(r.name)
engine = AnalyzerEngine(registry=registry, nlp_engine=NoNlpEngine(), supported_languages=["en"])
found = engine.analyze(text=text, language="en")
for _ in range(20):
    engine.analyze(text=text, language="en")
times = []
for _ in range(n):
    t = time.perf_counter()
    engine.analyze(text=text, language="en")
    times.append((time.perf_counter() - t) * 1e6)
times.sort()
entities = sorted({e for r in registry.recognizers for e in r.supported_entities})
print(json.dumps({"side": "presidio-analyzer (pattern recognizers)", "bytes": len(text.encode()), "findings": len(found), "found": sorted({f.entity_type for f in found}), "recognizers": len(registry.recognizers), "entities": entities, "p50_us": round(statistics.median(times), 1), "p95_us": round(times[len(times) * 95 // 100], 1)}))
