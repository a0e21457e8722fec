// Knowledge operations from Node: sync, versions, diff, rollback, verify, repair, drift.
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { freshDir } from './helpers.mjs'

test('sync, diff, rollback and verify through knowledge()', async () => {
  const src = join(freshDir(), 'src')
  mkdirSync(src)
  writeFileSync(join(src, 'ufo.md'), '# UFO\nWe offer a UFO warranty of one hundred years.')
  writeFileSync(join(src, 'shipping.md'), '# Shipping\nShipping is free above 1000 TWD.')
  const kb = await KnowledgeBase.open(freshDir())
  const r1 = await kb.knowledge({ op: 'sync', root: src, tenant: 'acme' })
  assert.equal(r1.documents_added, 2)
  rmSync(join(src, 'ufo.md'))
  const r2 = await kb.knowledge({ op: 'sync', root: src, tenant: 'acme' })
  assert.equal(r2.documents_removed, 1)
  const diff = await kb.knowledge({ op: 'diff', tenant: 'acme', from: r1.kb_version, to: r2.kb_version })
  assert.deepEqual(diff.removed, ['ufo.md'])
  assert.equal((await kb.ask('How long is the UFO warranty?', { tenant: 'acme' })).noAnswer, true)

  const back = await kb.knowledge({ op: 'rollback', to_version: r1.kb_version, tenant: 'acme' })
  assert.equal(back.kb_version, r2.kb_version + 1)
  const answer = await kb.ask('How long is the UFO warranty?', { tenant: 'acme' })
  assert.equal(answer.noAnswer, false)
  assert.equal(answer.kbVersion, back.kb_version)
  assert.equal((await kb.knowledge({ op: 'versions' })).length, 3)
  assert.equal((await kb.knowledge({ op: 'verify' })).missing_in_index, 0)
  assert.equal((await kb.knowledge({ op: 'repair' })).live_chunks, 2)
  const drift = await kb.knowledge({ op: 'drift', tenant: 'acme' })
  assert.equal(drift.recent.asks, 2)
  assert.equal(drift.gaps[0].asks, 1)

  await assert.rejects(kb.knowledge({ op: 'rollback', to_version: 99 }), (e) => e.code === 'invalid_input')
  await assert.rejects(kb.knowledge({ op: 'explode' }), (e) => e.code === 'invalid_input' && /unknown variant/.test(e.message))
  await assert.rejects(kb.knowledge(), (e) => e.code === 'invalid_input')
})
