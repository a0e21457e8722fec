// Shared helpers of the Node tests: fresh knowledge-base directories and a toy embedder.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'

/** A fresh empty directory, removed when the test file finishes. */
export function freshDir(prefix = 'ragcore-node-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A deterministic bag-of-characters vector (good enough to rank English text). */
export function toyVector(text, dimensions = 16) {
  const v = new Array(dimensions).fill(0)
  for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    let h = 0
    for (const ch of word) h = (h * 31 + ch.codePointAt(0)) >>> 0
    v[h % dimensions] += 1
  }
  if (v.every((x) => x === 0)) v[0] = 1
  return v
}

/** FAQ-like English documents used by several tests. */
export const DOCS = [
  { id: 'faq#shipping', kind: 'faq', title: 'How long does shipping take?', text: 'How long does shipping take?\nIn-stock items ship within 24 hours and arrive in 1 to 2 days.' },
  { id: 'faq#returns', kind: 'faq', title: 'How do I return an item?', text: 'How do I return an item?\nReturns are accepted within 7 days of delivery with the original packaging.' },
  { id: 'policy.md', text: '# Warranty\nLarge appliances have a 2 year warranty; small appliances have 1 year.' },
]
