// The rerank option: the built-in reranker runs before the prompt and is timed; a bad name
// rejects with invalid_input.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir } from './helpers.mjs'

test('rerank: "lexical" reranks and reports its time', async () => {
  const kb = await KnowledgeBase.open(freshDir(), { rerank: 'lexical' })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const answer = await kb.ask('How do I return an item?', { tenant: 'acme' })
  assert.ok('rerank' in answer.timings, JSON.stringify(answer.timings))
  assert.equal(answer.citations[0].documentId, 'faq#returns')
})

test('without rerank there is no rerank stage', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const answer = await kb.ask('How do I return an item?', { tenant: 'acme' })
  assert.ok(!('rerank' in answer.timings))
})

test('an unknown reranker rejects with invalid_input', async () => {
  await assert.rejects(KnowledgeBase.open(freshDir(), { rerank: 'cross-encoder' }), (e) => e.code === 'invalid_input' && /lexical/.test(e.message))
})
