// Failures reject with an Error whose `code` is the stable ragcore kind code.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { ErrorCode, KnowledgeBase } from '../index.js'
import { DOCS, freshDir } from './helpers.mjs'

const kb = await KnowledgeBase.open(freshDir())
await kb.ingest({ documents: DOCS, tenant: 'acme' })

/** Asserts that `promise` rejects with an Error (or `TypeError`) with `code`. */
async function rejectsWith(promise, code, { type = Error, message } = {}) {
  assert.ok(promise instanceof Promise, 'the method returns a Promise even for bad arguments')
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${err?.constructor?.name}: ${err?.message}`)
    assert.equal(err.code, code, err.message)
    assert.equal(err.retryable, false)
    if (message) assert.match(err.message, message)
    return true
  })
}

test('ErrorCode lists the stable codes', () => {
  assert.deepEqual(Object.values(ErrorCode).sort(), [
    'blocked', 'budget_exceeded', 'config', 'incompatible', 'internal', 'invalid_input',
    'load', 'not_found', 'provider', 'storage', 'timeout',
  ])
})

test('unknown tenant: not_found', async () => {
  await rejectsWith(kb.ask('How long does shipping take?', { tenant: 'nobody' }), 'not_found', { message: /nobody/ })
  await rejectsWith(kb.retrieve('shipping', { tenant: 'nobody' }), 'not_found')
})

test('empty question or tenant: invalid_input', async () => {
  await rejectsWith(kb.ask('   ', { tenant: 'acme' }), 'invalid_input', { message: /question/ })
  await rejectsWith(kb.retrieve('', { tenant: 'acme' }), 'invalid_input', { message: /question/ })
  await rejectsWith(kb.ask('shipping?', { tenant: '' }), 'invalid_input', { message: /tenant/ })
  await rejectsWith(kb.ingest({ documents: DOCS, tenant: ' ' }), 'invalid_input', { message: /tenant/ })
})

test('arguments of the wrong type: TypeError with code invalid_input', async () => {
  const typeError = { type: TypeError }
  await rejectsWith(kb.ask(), 'invalid_input', { ...typeError, message: /question: expected a string, got undefined/ })
  await rejectsWith(kb.ask(42), 'invalid_input', { ...typeError, message: /got number/ })
  await rejectsWith(kb.ask('shipping?', 'acme'), 'invalid_input', { ...typeError, message: /scope: expected an object, got string/ })
  await rejectsWith(kb.ask('shipping?', { tenant: 7 }), 'invalid_input', { ...typeError, message: /scope\.tenant/ })
  await rejectsWith(kb.retrieve('shipping?', { principals: 'hr' }), 'invalid_input', { ...typeError, message: /scope\.principals/ })
  await rejectsWith(kb.ingest(), 'invalid_input', { ...typeError, message: /request/ })
  await rejectsWith(kb.ingest(['a.md']), 'invalid_input', { ...typeError, message: /got array/ })
  await rejectsWith(kb.ingest({ paths: 'a.md' }), 'invalid_input', { ...typeError, message: /paths/ })
  await rejectsWith(kb.ingest({ documents: [{ id: 1, text: 'x' }] }), 'invalid_input', { ...typeError, message: /documents\[0\]\.id/ })
  await rejectsWith(kb.ingest({ documents: [{ id: 'a' }] }), 'invalid_input', { ...typeError, message: /documents\[0\]\.text: expected a string, got undefined/ })
  await rejectsWith(kb.ingest({ documents: [DOCS[0], { id: 'b', text: 'x', acl: 'hr' }] }), 'invalid_input', { ...typeError, message: /documents\[1\]\.acl/ })
  await rejectsWith(KnowledgeBase.open(), 'invalid_input', { ...typeError, message: /path/ })
  await rejectsWith(KnowledgeBase.open(freshDir(), 'fast'), 'invalid_input', { ...typeError, message: /options/ })
})

test('bad values: invalid_input', async () => {
  await rejectsWith(kb.ingest({ documents: [{ id: 'a', text: 'x', kind: 'poem' }] }), 'invalid_input', { message: /kind/ })
  await rejectsWith(kb.ingest({ document: [] }), 'invalid_input', { message: /unknown property "document"/ })
  await rejectsWith(kb.ask('shipping?', { tenant: 'acme', principal: ['hr'] }), 'invalid_input', { message: /principal/ })
  await rejectsWith(KnowledgeBase.open(''), 'invalid_input', { message: /path/ })
  await rejectsWith(KnowledgeBase.open(freshDir(), { embeder: {} }), 'invalid_input', { message: /embeder/ })
})

test('bad documents are reported per document; the rest is ingested', async () => {
  const local = await KnowledgeBase.open(freshDir())
  const report = await local.ingest({ documents: [DOCS[0], { id: 'empty', text: '   ' }], tenant: 'acme' })
  assert.equal(report.documentsAdded, 1)
  assert.equal(report.errors.length, 1)
  assert.equal(report.errors[0].kind, 'load')
  assert.match(report.errors[0].message, /empty/)
})

test('reopening with another embedder: incompatible', async () => {
  const dir = freshDir()
  const first = await KnowledgeBase.open(dir)
  await first.ingest({ documents: DOCS })
  const embedder = { model: 'other', dimensions: 4, embed: (texts) => texts.map(() => [1, 0, 0, 0]) }
  await rejectsWith(KnowledgeBase.open(dir, { embedder }), 'incompatible', { message: /hashing/ })
})

test('a missing path is reported, not thrown', async () => {
  const local = await KnowledgeBase.open(freshDir())
  const report = await local.ingest({ paths: ['/definitely/not/here.md'] })
  assert.equal(report.documentsSeen, 0)
  assert.equal(report.errors.length, 1)
})
