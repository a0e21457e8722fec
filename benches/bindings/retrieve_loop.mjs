// Node side of the binding-overhead benchmark: times kb.retrieve (Promise API).
import { KnowledgeBase } from '../../crates/ragcore-node/index.js'

const [kbDir, tenant, iterationsArg, ...questions] = process.argv.slice(2)
const iterations = Number(iterationsArg)
const kb = await KnowledgeBase.open(kbDir)
for (const q of questions) await kb.retrieve(q, { tenant })
const times = []
for (let i = 0; i < iterations; i++) {
  const q = questions[i % questions.length]
  const t = process.hrtime.bigint()
  await kb.retrieve(q, { tenant })
  times.push(Number(process.hrtime.bigint() - t) / 1000)
}
times.sort((a, b) => a - b)
console.log(JSON.stringify({ lang: 'node', median_us: +times[times.length >> 1].toFixed(1), p95_us: +times[Math.floor(times.length * 0.95)].toFixed(1) }))
