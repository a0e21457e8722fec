// The quickstart example runs end to end, and the basic API works offline.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { promisify } from 'node:util'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir } from './helpers.mjs'

test('examples/quickstart.mjs runs and answers with citations', async () => {
  const script = fileURLToPath(new URL('../examples/quickstart.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script])
  assert.match(stdout, /ingested 2 documents, kb version 1/)
  assert.match(stdout, /A: In-stock items ship within 24 hours and arrive in 1 to 2 days\. \[1\]/)
  assert.match(stdout, /\[1\] How long does shipping take\? \(faq#shipping\)/)
  assert.match(stdout, /noAnswer: true/)
  assert.match(stdout, /error code: not_found/)
})

test('open, ingest, ask and retrieve return camelCase objects', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  assert.ok(kb instanceof KnowledgeBase)
  const report = await kb.ingest({ documents: DOCS, tenant: 'acme' })
  assert.equal(report.kbVersion, 1)
  assert.equal(report.documentsSeen, 3)
  assert.equal(report.documentsAdded, 3)
  assert.ok(report.chunksAdded >= 3)
  assert.deepEqual(report.errors, [])

  const answer = await kb.ask('How long does shipping take?', { tenant: 'acme' })
  assert.equal(answer.noAnswer, false)
  assert.equal(answer.kbVersion, 1)
  assert.equal(answer.model, 'extractive')
  assert.match(answer.promptVersion, /@/)
  assert.equal(answer.degraded, false)
  assert.equal(answer.citations.length, 1)
  const [c] = answer.citations
  assert.equal(c.index, 1)
  assert.equal(c.documentId, 'faq#shipping')
  assert.equal(typeof c.chunkId, 'string')
  assert.equal(typeof c.score, 'number')
  assert.equal(typeof answer.usage.embeddingTokens, 'number')
  assert.equal(typeof answer.cost.totalUsd, 'number')
  assert.equal(typeof answer.timings.retrieve, 'number')
  assert.ok(answer.verdicts.some((v) => v.name === 'no_answer' && v.action === 'pass'))

  const hits = await kb.retrieve('How long does shipping take?', { tenant: 'acme' })
  assert.ok(hits.length >= 1)
  assert.equal(hits[0].chunkId, c.chunkId)
  assert.equal(hits[0].documentId, 'faq#shipping')
  assert.equal(hits[0].kind, 'faq')
  assert.ok(hits.every((h, i) => i === 0 || hits[i - 1].score >= h.score))
})

test('re-ingesting unchanged documents writes nothing; the default tenant is "default"', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  await kb.ingest({ documents: DOCS })
  const again = await kb.ingest({ documents: DOCS })
  assert.equal(again.documentsUnchanged, 3)
  assert.equal(again.chunksEmbedded, 0)
  assert.equal(again.kbVersion, 1)
  const answer = await kb.ask('How do I return an item?')
  assert.equal(answer.citations[0]?.documentId, 'faq#returns')
})

test('ACLs: documents with an ACL are visible only to matching principals', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  await kb.ingest({
    tenant: 'acme',
    documents: [...DOCS, { id: 'hr/bonus.md', text: 'Year-end bonuses are paid at the end of January.', acl: ['hr'] }],
  })
  const question = 'When are year-end bonuses paid?'
  const hidden = await kb.retrieve(question, { tenant: 'acme' })
  assert.ok(!hidden.some((h) => h.documentId === 'hr/bonus.md'))
  const visible = await kb.retrieve(question, { tenant: 'acme', principals: ['hr'] })
  assert.equal(visible[0].documentId, 'hr/bonus.md')
})

test('a knowledge base can be reopened from disk', async () => {
  const dir = freshDir()
  const first = await KnowledgeBase.open(dir)
  await first.ingest({ documents: DOCS, tenant: 'acme' })
  const second = await KnowledgeBase.open(dir)
  const answer = await second.ask('How long does shipping take?', { tenant: 'acme' })
  assert.equal(answer.kbVersion, 1)
  assert.equal(answer.citations[0].documentId, 'faq#shipping')
})
