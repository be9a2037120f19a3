// Differential: for generated JSON texts, the native server's `POST /echo` answers the very bytes
// JavaScript's `JSON.stringify(JSON.parse(text))` gives (numbers as doubles, integer-like keys
// first, escapes), and refuses (400) exactly the texts the README calls invalid.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { backendUnavailable, type StartedBackend, startBackend } from '../helpers/backends';
import { send } from '../helpers/http';
import { deepText, echoOf, jsonText, numberText, readCorpus, runs } from '../properties/support';

describe('native POST /echo prints what JSON.stringify(JSON.parse(text)) prints', {
  skip: backendUnavailable('native') ?? false,
}, () => {
  let native: StartedBackend | undefined;

  before(async () => {
    native = await startBackend('native', 'unix');
  });
  after(async () => {
    await native?.stop();
  });

  /** Asserts native's answer to `bytes` is JavaScript's (or the 400 the README promises). */
  async function checkEcho(bytes: Uint8Array): Promise<void> {
    assert.ok(native, 'the native backend runs');
    const reply = await send(native.endpoint, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(bytes),
    });
    const expected = echoOf(bytes);
    const text = Buffer.from(bytes).toString('utf8');
    if (expected === undefined) {
      assert.equal(reply.status, 400, `expected 400 invalid_json for ${JSON.stringify(text)}, got ${reply.text}`);
      assert.match(reply.text, /"code":"invalid_json"/);
    } else {
      assert.equal(reply.status, 200, `expected 200 for ${JSON.stringify(text)}, got ${reply.text}`);
      assert.equal(reply.text, expected, `for ${JSON.stringify(text)}`);
    }
  }

  it('on every text of the seed corpus, as recorded', async (t) => {
    if (!native) return t.skip('no native backend');
    for (const [text, recorded] of readCorpus('json.jsonl')) {
      const bytes = Buffer.from(String(text));
      assert.equal(echoOf(bytes) ?? null, recorded, `the corpus entry for ${JSON.stringify(text)} is JavaScript's`);
      await checkEcho(bytes);
    }
  });

  it('on generated JSON texts', async (t) => {
    if (!native) return t.skip('no native backend');
    await fc.assert(
      fc.asyncProperty(jsonText, (text) => checkEcho(Buffer.from(text))),
      runs(500),
    );
  });

  it('on arrays of numbers in every spelling', async (t) => {
    if (!native) return t.skip('no native backend');
    await fc.assert(
      fc.asyncProperty(fc.array(numberText, { minLength: 1, maxLength: 16 }), (numbers) =>
        checkEcho(Buffer.from(`[${numbers.join(',')}]`)),
      ),
      runs(300),
    );
  });

  it('around the depth limit (127 levels pass, 128 do not)', async (t) => {
    if (!native) return t.skip('no native backend');
    await fc.assert(
      fc.asyncProperty(deepText, (text) => checkEcho(Buffer.from(text))),
      runs(100),
    );
  });
});
