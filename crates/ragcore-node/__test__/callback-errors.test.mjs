// Callbacks that throw, reject or return the wrong thing: a clear coded error, no crash, and
// the knowledge base is left untouched.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir, toyVector } from './helpers.mjs'

/** An embedder whose behaviour the test switches between calls. */
function switchable() {
  const state = { mode: 'ok' }
  const embedder = {
    model: 'toy-switchable',
    dimensions: 16,
    embed(texts) {
      switch (state.mode) {
        case 'throw': throw new Error('embedding service is down')
        case 'throw-string': throw 'plain string thrown' // eslint-disable-line no-throw-literal
        case 'reject': return Promise.reject(new Error('rejected on purpose'))
        case 'wrong-dimension': return texts.map(() => [1, 2, 3])
        case 'wrong-count': return texts.slice(1).map((t) => toyVector(t))
        case 'not-an-array': return 'vectors'
        case 'async-not-numbers': return Promise.resolve(texts.map(() => new Array(16).fill('x')))
        case 'nan': return texts.map(() => new Array(16).fill(NaN))
        default: return texts.map((t) => toyVector(t))
      }
    },
  }
  return { state, embedder }
}

const EXTRA = { id: 'extra.md', text: 'Gift cards never expire and can be used online or in store.' }

const FAILURES = [
  ['throw', /embed\(\) threw: .*embedding service is down/],
  ['throw-string', /embed\(\) threw: plain string thrown/],
  ['reject', /embed\(\) rejected: .*rejected on purpose/],
  ['wrong-dimension', /vector of 3 numbers at index 0; the embedder was declared with dimensions 16/],
  ['wrong-count', /returned \d+ vectors for \d+ texts/],
  ['not-an-array', /returned an unusable value .*array of vectors/],
  ['async-not-numbers', /returned an unusable value \(.*f64.*\)/],
  ['nan', /non-finite/],
]

test('a failing embedder rejects ingest with code provider and leaves the KB untouched', async () => {
  const { state, embedder } = switchable()
  const kb = await KnowledgeBase.open(freshDir(), { embedder })
  const first = await kb.ingest({ documents: DOCS, tenant: 'acme' })
  assert.equal(first.kbVersion, 1)

  for (const [mode, message] of FAILURES) {
    state.mode = mode
    await assert.rejects(kb.ingest({ documents: [EXTRA], tenant: 'acme' }), (err) => {
      assert.ok(err instanceof Error)
      assert.equal(err.code, 'provider', `${mode}: ${err.message}`)
      assert.equal(err.retryable, false)
      assert.match(err.message, message, mode)
      assert.match(err.message, /toy-switchable/)
      return true
    })
  }

  state.mode = 'ok'
  const answer = await kb.ask('Do gift cards expire?', { tenant: 'acme' })
  assert.equal(answer.kbVersion, 1, 'no failed ingest committed a version')
  const hits = await kb.retrieve('Do gift cards expire?', { tenant: 'acme' })
  assert.ok(!hits.some((h) => h.documentId === 'extra.md'))
  const report = await kb.ingest({ documents: [EXTRA], tenant: 'acme' })
  assert.equal(report.kbVersion, 2)
  assert.equal(report.documentsAdded, 1)
})

test('a failing embedder rejects ask and retrieve with code provider', async () => {
  const { state, embedder } = switchable()
  const kb = await KnowledgeBase.open(freshDir(), { embedder })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  for (const mode of ['throw', 'reject', 'wrong-dimension']) {
    state.mode = mode
    await assert.rejects(kb.ask('How long does shipping take?', { tenant: 'acme' }), { code: 'provider' })
    await assert.rejects(kb.retrieve('How long does shipping take?', { tenant: 'acme' }), { code: 'provider' })
  }
  state.mode = 'ok'
  const answer = await kb.ask('How long does shipping take?', { tenant: 'acme' })
  assert.equal(answer.citations[0].documentId, 'faq#shipping')
})

test('a throwing, rejecting or misbehaving guard rejects ask with code provider', async () => {
  const state = { mode: 'ok' }
  const guards = [{
    name: 'flaky',
    check(text, stage) {
      if (stage !== 'input') return null
      switch (state.mode) {
        case 'throw': throw new TypeError('guard crashed')
        case 'reject': return Promise.reject(new Error('guard rejected'))
        case 'bad-action': return { action: 'explode' }
        case 'not-an-object': return 42
        default: return null
      }
    },
  }]
  const kb = await KnowledgeBase.open(freshDir(), { guards })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const cases = [
    ['throw', /check\(\) threw: .*guard crashed/],
    ['reject', /check\(\) rejected: .*guard rejected/],
    ['bad-action', /action "explode"/],
    ['not-an-object', /check\(\) returned an unusable value/],
  ]
  for (const [mode, message] of cases) {
    state.mode = mode
    await assert.rejects(kb.ask('How long does shipping take?', { tenant: 'acme' }), (err) => {
      assert.equal(err.code, 'provider', `${mode}: ${err.message}`)
      assert.match(err.message, /flaky/)
      assert.match(err.message, message)
      return true
    })
  }
  state.mode = 'ok'
  const answer = await kb.ask('How long does shipping take?', { tenant: 'acme' })
  assert.equal(answer.noAnswer, false)
})
