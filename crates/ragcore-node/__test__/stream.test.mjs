// askStream resolves to an AnswerStream of deltas then the answer; costReport reads the ledger;
// answers carry their cache status.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir } from './helpers.mjs'

test('askStream yields deltas then the final answer, and costReport reads the ledger', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const stream = await kb.askStream('How long does shipping take?', { tenant: 'acme' })
  const events = []
  for (let ev; (ev = await stream.next()) !== null;) events.push(ev)
  const last = events.at(-1)
  assert.ok(last.answer, 'the last event is the answer')
  assert.ok(events.slice(0, -1).every((e) => typeof e.delta === 'string'))
  assert.equal(events.slice(0, -1).map((e) => e.delta).join(''), last.answer.text)
  assert.equal(last.answer.citations[0].documentId, 'faq#shipping')
  assert.equal(last.answer.cache, 'bypass')
  assert.equal(last.answer.usage.cachedPromptTokens, 0)

  await kb.ask('How do I return an item?', { tenant: 'acme' })
  const rows = await kb.costReport('tenant')
  assert.deepEqual(rows.map((r) => [r.key, r.requests]), [['acme', 2]])
  const byModel = await kb.costReport('model', 'acme')
  assert.deepEqual(byModel.map((r) => r.key), ['extractive'])
  await assert.rejects(kb.costReport('colour'), (err) => err.code === 'invalid_input')
  await assert.rejects(kb.askStream('hi', { tenant: 'nobody' }), (err) => err.code === 'not_found')
})
