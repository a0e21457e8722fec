// Prompt registry, event log, metrics and evaluation from Node (the core's admin operations).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { KnowledgeBase } from '../index.js'
import { DOCS, freshDir } from './helpers.mjs'

test('prompts: save, protected production, forced move, rollback, export', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  const [v1] = await kb.admin('prompts')
  assert.equal(v1.version, 1)
  assert.deepEqual(v1.labels, ['latest', 'production'])
  const v2 = await kb.admin('save_prompt', { name: 'qa', system: `${v1.system} Be brief.`, user: v1.user, labels: ['staging'] })
  assert.equal(v2.version, 2)
  await assert.rejects(kb.admin('set_prompt_label', { name: 'qa', label: 'production', version: 2 }), (e) => {
    assert.equal(e.code, 'invalid_input')
    assert.match(e.message, /protected/)
    return true
  })
  const moved = await kb.admin('set_prompt_label', { name: 'qa', label: 'production', version: 2, force: true })
  assert.equal(moved.to_version, 2)
  assert.equal((await kb.admin('get_prompt', { name: 'qa', label: 'production' })).version, 2)
  const back = await kb.admin('rollback_prompt', { name: 'qa', label: 'production' })
  assert.equal(back.to_version, 1)
  const yaml = await kb.admin('export_prompts', { format: 'yaml' })
  assert.match(yaml, /prompts:/)
  await assert.rejects(kb.admin('nope'), (e) => e.code === 'invalid_input')
})

test('events, metrics text and a golden-set evaluation', async () => {
  const kb = await KnowledgeBase.open(freshDir())
  await kb.ingest({ documents: DOCS, tenant: 'acme' })
  await kb.ask('How long does shipping take?', { tenant: 'acme' })
  await kb.ask('What is the warranty on the Zephyr-9000 drone?', { tenant: 'acme' })
  const events = await kb.admin('events', { tenant: 'acme' })
  assert.deepEqual(events.map((e) => e.outcome), ['answered', 'no_answer'])
  assert.equal(events[0].prompt_version, 'qa@1')
  assert.ok(events[0].retrieved.length > 0)
  const text = kb.metricsText()
  assert.match(text, /ragcore_asks_total\{tenant="acme",outcome="answered"\} 1/)
  assert.match(text, /# TYPE ragcore_stage_latency_ms histogram/)
  const golden = [
    JSON.stringify({ question: 'How long does shipping take?', expected_doc_ids: ['faq#shipping'] }),
    JSON.stringify({ question: 'What is the warranty on the Zephyr-9000 drone?', answerable: false }),
  ].join('\n')
  const report = await kb.admin('evaluate', { golden, tenant: 'acme' })
  assert.equal(report.cases, 2)
  assert.equal(report.metrics.recall_at_k, 1)
  assert.equal(report.metrics.answerable_answered, 1)
  assert.equal(report.metrics.unanswerable_refused, 1)
})
