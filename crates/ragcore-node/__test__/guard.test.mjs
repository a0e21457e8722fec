// Guardrails written in JavaScript, run on questions and answers.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir } from './helpers.mjs'

test('a guard sees every question and answer with its stage and tenant', async () => {
  const seen = []
  const guards = [{ name: 'audit', check: (text, stage, tenant) => { seen.push({ text, stage, tenant }); return null } }]
  const kb = await KnowledgeBase.open(freshDir(), { guards })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const answer = await kb.ask('How long does shipping take?', { tenant: 'acme' })
  assert.deepEqual(seen, [
    { text: 'How long does shipping take?', stage: 'input', tenant: 'acme' },
    { text: answer.text, stage: 'output', tenant: 'acme' },
  ])
  const verdicts = answer.verdicts.filter((v) => v.name === 'audit')
  assert.deepEqual(verdicts.map((v) => [v.stage, v.action]), [['input', 'pass'], ['output', 'pass']])
})

test('a blocking guard rejects the request with code blocked', async () => {
  const guards = [{
    name: 'no-competitors',
    check: (text, stage) => (stage === 'input' && /globex/i.test(text) ? { action: 'block', detail: 'mentions a competitor' } : null),
  }]
  const kb = await KnowledgeBase.open(freshDir(), { guards })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  await assert.rejects(kb.ask('Is Globex shipping faster?', { tenant: 'acme' }), (err) => {
    assert.equal(err.code, 'blocked')
    assert.equal(err.retryable, false)
    assert.match(err.message, /no-competitors/)
    assert.match(err.message, /mentions a competitor/)
    return true
  })
  const ok = await kb.ask('How long does shipping take?', { tenant: 'acme' })
  assert.equal(ok.noAnswer, false)
})

test('an async guard can redact the question and annotate the answer', async () => {
  const questions = []
  const guards = [
    {
      name: 'redact-order-ids',
      async check(text, stage) {
        await new Promise((resolve) => setImmediate(resolve))
        if (stage === 'input' && /#\d+/.test(text)) return { action: 'redact', detail: 'order id', text: text.replace(/#\d+/g, '[order]') }
        if (stage === 'output') return { action: 'annotate', detail: 'checked' }
        return undefined
      },
    },
    { name: 'spy', check: (text, stage) => { if (stage === 'input') questions.push(text); return null } },
  ]
  const kb = await KnowledgeBase.open(freshDir(), { guards })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const answer = await kb.ask('How long does shipping take for order #12345?', { tenant: 'acme' })
  assert.deepEqual(questions, ['How long does shipping take for order [order]?'])
  const mine = answer.verdicts.filter((v) => v.name === 'redact-order-ids')
  assert.deepEqual(mine.map((v) => [v.stage, v.action, v.detail]), [['input', 'redact', 'order id'], ['output', 'annotate', 'checked']])
  assert.equal(answer.citations[0].documentId, 'faq#shipping')
})

test('guard options are checked', async () => {
  const cases = [
    [{ name: 'g', check: (t) => null }, null],
    ['g', /options\.guards: expected an array, got string/],
    [['g'], /options\.guards\[0\]: expected an object, got string/],
    [[{ check: () => null }], /options\.guards\[0\]\.name: expected a string, got undefined/],
    [[{ name: '', check: () => null }], /options\.guards\[0\]\.name: must not be empty/],
    [[{ name: 'g' }], /options\.guards\[0\]\.check: expected a function, got undefined/],
  ]
  for (const [guards, message] of cases.slice(1)) {
    await assert.rejects(KnowledgeBase.open(freshDir(), { guards }), (err) => {
      assert.equal(err.code, 'invalid_input')
      assert.match(err.message, message)
      return true
    })
  }
})
