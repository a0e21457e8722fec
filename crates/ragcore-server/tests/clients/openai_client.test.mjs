// The official `openai` npm package against `ragcore serve` (started by run.sh, which sets
// RAGCORE_SERVER_URL and RAGCORE_SERVER_KEY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.RAGCORE_SERVER_URL;
const apiKey = process.env.RAGCORE_SERVER_KEY;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const question = 'How many days do I have to return a product?';

test('chat completion with citations in the ragcore extension', async () => {
  const r = await client.chat.completions.create({
    model: 'ragcore',
    messages: [{ role: 'user', content: question }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.choices[0].message.content, /7/);
  assert.ok(r.ragcore.citations[0].document_id.endsWith('#en-return'), r.ragcore.citations[0].document_id);
  assert.ok(r.ragcore.kb_version >= 1);
  assert.ok(typeof r.usage.total_tokens === 'number');
});

test('streaming yields the same text and a final usage chunk', async () => {
  const plain = await client.chat.completions.create({
    model: 'ragcore',
    messages: [{ role: 'user', content: question }],
  });
  const stream = await client.chat.completions.create({
    model: 'ragcore',
    messages: [{ role: 'user', content: question }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (c?.delta?.content) text += c.delta.content;
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.ok(chunks > 3, `only ${chunks} chunks`);
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, 'stop');
  assert.ok(usage && typeof usage.total_tokens === 'number');
});

test('a wrong key raises AuthenticationError, an unknown model NotFoundError', async () => {
  const bad = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: 'ragcore', messages: [{ role: 'user', content: question }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: question }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
  );
});

test('models are listed', async () => {
  const list = await client.models.list();
  const ids = [];
  for await (const m of list) ids.push(m.id);
  assert.deepEqual(ids, ['ragcore']);
});
