#!/usr/bin/env bash
# Every benchmark of the project, in one command (the README's): the criterion benches, the
# binding overhead, the peer comparisons (LangChain, LlamaIndex, presidio, tiktoken, embedding
# throughput) and, when present, the ANN comparison. Results go to docs/benchmarks.md by hand,
# with the machine and date; each script prints its own tables.
#   benches/run-all.sh              SKIP="criterion bindings" to leave parts out
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SKIP=" ${SKIP:-} "
part() { [[ "$SKIP" != *" $1 "* ]]; }

if part criterion; then
  echo "## criterion: core"; cargo bench -q -p ragcore --bench core
  echo "## criterion: guards"; cargo bench -q -p ragcore --bench guards
fi
if part bindings; then echo "## binding overhead"; benches/bindings/run.sh; fi
if part peers; then echo "## peers"; benches/peers/run.sh; fi
if part ann && [ -x benches/ann/run.sh ]; then echo "## ANN"; benches/ann/run.sh; fi
