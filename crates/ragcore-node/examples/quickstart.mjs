// ragcore quickstart: open a knowledge base, ingest documents, ask with citations.
// Run from crates/ragcore-node after `npm run build`: node examples/quickstart.mjs
// (in your own project, import from 'ragcore' instead of '../index.js').
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { KnowledgeBase } from '../index.js'

const dir = mkdtempSync(join(tmpdir(), 'ragcore-quickstart-'))
try {
  // Offline by default: SQLite + HNSW on disk, a hashing embedder, an extractive answerer.
  const kb = await KnowledgeBase.open(dir)

  const report = await kb.ingest({
    tenant: 'acme',
    documents: [
      {
        id: 'faq#return',
        kind: 'faq',
        title: '退貨要在幾天內申請？',
        text: '退貨要在幾天內申請？\n收到商品後 7 天內可以申請退貨，請保持商品與包裝完整。',
      },
      {
        id: 'faq#shipping',
        kind: 'faq',
        title: 'How long does shipping take?',
        text: 'How long does shipping take?\nIn-stock items ship within 24 hours and arrive in 1 to 2 days.',
      },
    ],
  })
  console.log(`ingested ${report.documentsAdded} documents, kb version ${report.kbVersion}`)

  for (const question of ['How long does shipping take?', '退貨要在幾天內申請？']) {
    const answer = await kb.ask(question, { tenant: 'acme' })
    console.log(`Q: ${question}\nA: ${answer.text}`)
    for (const c of answer.citations) console.log(`   [${c.index}] ${c.title} (${c.documentId})`)
  }

  // Nothing relevant: an honest refusal instead of a made-up answer.
  const none = await kb.ask('Do you repair spaceships?', { tenant: 'acme' })
  console.log(`noAnswer: ${none.noAnswer}`)

  // Failures reject with a stable code.
  try {
    await kb.ask('How long does shipping take?', { tenant: 'nobody' })
  } catch (err) {
    console.log(`error code: ${err.code}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
