// The shared test vectors (tests/vectors/basic.json): the same answers as the Rust core and the
// Python bindings, exactly.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { before, test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { freshDir } from './helpers.mjs'

const vectors = JSON.parse(readFileSync(new URL('../../../tests/vectors/basic.json', import.meta.url), 'utf8'))

test('the vectors file is a format this test understands', () => {
  assert.match(vectors.format, /^ragcore shared test vectors v1:/)
  assert.ok(vectors.documents.length > 0)
  assert.ok(vectors.cases.length > 0)
})

// Ingest `documents` grouped by tenant, in order, into a fresh knowledge base on the offline
// default.
let kb
before(async () => {
  kb = await KnowledgeBase.open(freshDir('ragcore-vectors-'))
  const byTenant = new Map()
  for (const { tenant, ...doc } of vectors.documents) {
    if (!byTenant.has(tenant)) byTenant.set(tenant, [])
    byTenant.get(tenant).push(doc)
  }
  for (const [tenant, documents] of byTenant) {
    const report = await kb.ingest({ tenant, documents })
    assert.deepEqual(report.errors, [], `ingest of tenant ${tenant}`)
  }
})

for (const c of vectors.cases) {
  test(`vector case: ${c.name}`, async () => {
    const hits = await kb.retrieve(c.question, c.scope)
    assert.deepEqual(hits.slice(0, 3).map((h) => h.chunkId), c.expected.top_chunk_ids, 'retrieve() top 3')
    const answer = await kb.ask(c.question, c.scope)
    assert.deepEqual(answer.citations.map((x) => x.chunkId), c.expected.citation_chunk_ids, 'citations')
    assert.equal(answer.noAnswer, c.expected.no_answer, 'noAnswer')
    assert.equal(answer.text, c.expected.text, 'text')
  })
}
