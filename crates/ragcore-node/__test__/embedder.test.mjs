// An embedder written in JavaScript, called through a thread-safe function.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir, toyVector } from './helpers.mjs'

test('a synchronous JS embedder is called for passages and queries', async () => {
  const calls = []
  const embedder = {
    model: 'toy-sync',
    dimensions: 16,
    embed(texts, inputType) {
      calls.push({ n: texts.length, inputType, texts })
      return texts.map((t) => toyVector(t))
    },
  }
  const kb = await KnowledgeBase.open(freshDir(), { embedder })
  const report = await kb.ingest({ documents: DOCS, tenant: 'acme' })
  assert.equal(report.chunksEmbedded, calls.filter((c) => c.inputType === 'passage').reduce((a, c) => a + c.n, 0))
  assert.ok(report.chunksEmbedded >= 3)
  assert.ok(report.embeddingTokens > 0, 'token counts are estimated')
  assert.ok(calls.every((c) => c.texts.every((t) => typeof t === 'string')))

  const hits = await kb.retrieve('How long does shipping take?', { tenant: 'acme' })
  assert.equal(hits[0].documentId, 'faq#shipping')
  assert.ok(hits[0].vectorScore <= 1.0001, 'vectors are normalised by ragcore')
  assert.deepEqual(calls.at(-1), { n: 1, inputType: 'query', texts: ['How long does shipping take?'] })
})

test('an async JS embedder (returning a Promise) is awaited', async () => {
  let pending = 0
  let maxPending = 0
  const embedder = {
    model: 'toy-async',
    dimensions: 16,
    async embed(texts) {
      pending += 1
      maxPending = Math.max(maxPending, pending)
      await sleep(5)
      pending -= 1
      return texts.map((t) => toyVector(t))
    },
  }
  const kb = await KnowledgeBase.open(freshDir(), { embedder })
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  const answers = await Promise.all([
    kb.ask('How long does shipping take?', { tenant: 'acme' }),
    kb.ask('How do I return an item?', { tenant: 'acme' }),
  ])
  assert.equal(answers[0].citations[0].documentId, 'faq#shipping')
  assert.equal(answers[1].citations[0].documentId, 'faq#returns')
  assert.ok(maxPending >= 1)
})

test('vectors may be Float32Array or Float64Array', async () => {
  let ints = false
  const embedder = {
    model: 'toy-typed',
    dimensions: 16,
    embed: (texts, inputType) =>
      texts.map((t) => {
        if (ints) return new Int8Array(16)
        return inputType === 'query' ? Float64Array.from(toyVector(t)) : Float32Array.from(toyVector(t))
      }),
  }
  const kb = await KnowledgeBase.open(freshDir(), { embedder })
  await kb.ingest({ documents: DOCS })
  const hits = await kb.retrieve('How do I return an item?')
  assert.equal(hits[0].documentId, 'faq#returns')

  ints = true
  await assert.rejects(kb.retrieve('How do I return an item?'), (err) => {
    assert.equal(err.code, 'provider')
    assert.match(err.message, /Float32Array or a Float64Array/)
    return true
  })
})

test('class instances keep their `this`', async () => {
  class Embedder {
    constructor() {
      this.model = 'toy-class'
      this.dimensions = 16
      this.seen = 0
    }
    embed(texts) {
      this.seen += texts.length
      return texts.map((t) => toyVector(t, this.dimensions))
    }
  }
  const embedder = new Embedder()
  const kb = await KnowledgeBase.open(freshDir(), { embedder })
  await kb.ingest({ documents: DOCS })
  assert.ok(embedder.seen >= 3)
})

test('the same model and dimensions reopen the knowledge base', async () => {
  const dir = freshDir()
  const embedder = { model: 'toy-reopen', dimensions: 16, embed: (texts) => texts.map((t) => toyVector(t)) }
  const first = await KnowledgeBase.open(dir, { embedder })
  await first.ingest({ documents: DOCS })
  const second = await KnowledgeBase.open(dir, { embedder })
  const hits = await second.retrieve('How do I return an item?')
  assert.equal(hits[0].documentId, 'faq#returns')
})

test('embedder options are checked', async () => {
  const embed = (texts) => texts.map(() => [1])
  const cases = [
    [{ dimensions: 1, embed }, /options\.embedder\.model: expected a string, got undefined/],
    [{ model: 'm', dimensions: '1', embed }, /options\.embedder\.dimensions: expected a number, got string/],
    [{ model: 'm', dimensions: 0, embed }, /options\.embedder\.dimensions: must be a whole number/],
    [{ model: 'm', dimensions: 1.5, embed }, /options\.embedder\.dimensions: must be a whole number/],
    [{ model: 'm', dimensions: 1 }, /options\.embedder\.embed: expected a function, got undefined/],
    [{ model: 'm', dimensions: 1, embed: 'embed' }, /options\.embedder\.embed: expected a function, got string/],
  ]
  for (const [embedder, message] of cases) {
    await assert.rejects(KnowledgeBase.open(freshDir(), { embedder }), (err) => {
      assert.equal(err.code, 'invalid_input')
      assert.match(err.message, message)
      return true
    })
  }
})
