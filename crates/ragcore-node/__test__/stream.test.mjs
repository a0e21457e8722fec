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

test('budgets: rate limits per user reject with budget_exceeded, or degrade by policy', async () => {
  const kb = await KnowledgeBase.open(freshDir(), {
    budgets: {
      rules: [{ dimension: 'tenant', period: 'day', hard_limit_usd: 5 }],
      rate_limits: [{ dimension: 'principal', rpm: 2 }],
    },
  })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const u1 = { tenant: 'acme', principals: ['u1'] }
  for (let i = 0; i < 2; i++) assert.equal((await kb.ask('How do I return an item?', u1)).degraded, false)
  await assert.rejects(kb.ask('How do I return an item?', u1), (err) => {
    assert.equal(err.code, 'budget_exceeded')
    assert.match(err.message, /rate limit reached/)
    return true
  })
  assert.ok((await kb.ask('How do I return an item?', { tenant: 'acme', principals: ['u2'] })).text)

  const degrading = await KnowledgeBase.open(freshDir(), {
    budgets: { over_budget: 'degrade', rate_limits: [{ dimension: 'tenant', rpm: 1 }] },
  })
  await degrading.ingest({ documents: DOCS, tenant: 'acme' })
  assert.equal((await degrading.ask('How do I return an item?', { tenant: 'acme' })).degraded, false)
  const second = await degrading.ask('How do I return an item?', { tenant: 'acme' })
  assert.equal(second.degraded, true)
  assert.match(second.text, /7 days/)
})

test('the answer cache: exact hits after a miss, per question; bad settings name the field', async () => {
  const kb = await KnowledgeBase.open(freshDir(), { cache: { ttl_secs: 600 } })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const acme = { tenant: 'acme' }
  const seen = []
  for (const q of ['How do I return an item?', 'how do I return an item', 'How long does shipping take?', 'How do I return an item?']) {
    seen.push((await kb.ask(q, acme)).cache)
  }
  assert.deepEqual(seen, ['miss', 'exact_hit', 'miss', 'exact_hit'])
  await assert.rejects(KnowledgeBase.open(freshDir(), { cache: { ttl: 5 } }), (err) => {
    assert.equal(err.code, 'invalid_input')
    assert.match(err.message, /options\.cache/)
    assert.match(err.message, /unknown field `ttl`/)
    return true
  })
  await assert.rejects(KnowledgeBase.open(freshDir(), { budgets: { rules: [{ dimension: 'planet', period: 'day' }] } }),
    (err) => err.code === 'invalid_input' && /options\.budgets/.test(err.message))
  await assert.rejects(KnowledgeBase.open(freshDir(), { cache: { semantic_threshold: 3 } }),
    (err) => err.code === 'invalid_input' && /cache\.semantic_threshold/.test(err.message))
})
