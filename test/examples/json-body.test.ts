// `isJsonContentType` and `parseJsonStrict` (src/api/body.ts, what readJson uses) against what
// the native server (serde_json, the Json extractor) does with the same input, through the demo's
// POST /echo, the route that reads JSON on both sides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isJsonContentType, parseJsonStrict } from '../../src/api/body';
import type { BackendName } from '../../src/api/types';
import { useBackends } from '../helpers/backends';
import { send } from '../helpers/http';
import { brokenBytes, deepText, echoOf, jsonText, readCorpus, runs } from '../properties/support';

/** Content-Type values near JSON's, as Node reads header bytes (one code point a byte). */
const contentType: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(
          'application',
          'Application',
          'APPLICATION',
          '/',
          'json',
          'JSON',
          '+json',
          '+JSON',
          'problem',
          'vnd.api',
          '+',
          'text',
          'x',
          ';',
          ' ',
          '\t',
          'charset=utf-8',
          '=',
          '"',
          ',',
          'application/json',
          'application/',
        ),
      },
      { weight: 1, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
      { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
    ),
    { maxLength: 10 },
  )
  .map((pieces) => pieces.join(''));

describe('isJsonContentType and parseJsonStrict agree with the native server', () => {
  const servers = useBackends(['native', 'fastify']);

  /** POST /echo with body `1` and `type` on `backend`: is the type taken as JSON? */
  async function takesAsJson(backend: BackendName, type: string): Promise<boolean> {
    const server = servers.get(backend);
    assert.ok(server);
    const reply = await send(server.endpoint, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': type },
      body: '1',
    });
    assert.ok(reply.status === 200 || reply.status === 415, `${backend}: ${reply.status} ${reply.text}`);
    return reply.status === 200;
  }

  async function checkContentType(type: string): Promise<void> {
    const native = await takesAsJson('native', type);
    // Both servers get the field value with the blanks around it removed (RFC 9110 §5.5).
    const received = type.replace(/^[ \t]+|[ \t]+$/g, '');
    assert.equal(isJsonContentType({ 'content-type': received }), native, `isJsonContentType(${JSON.stringify(type)})`);
    assert.equal(await takesAsJson('fastify', type), native, `fastify vs native on ${JSON.stringify(type)}`);
  }

  it('isJsonContentType: on every value of the seed corpus, as recorded', async (t) => {
    if (servers.size === 0) return t.skip('needs native and fastify');
    for (const [type, recorded] of readCorpus('content-types.jsonl')) {
      assert.equal(await takesAsJson('native', String(type)), recorded, `native on ${JSON.stringify(type)}`);
      await checkContentType(String(type));
    }
  });

  it('isJsonContentType: on generated values', async (t) => {
    if (servers.size === 0) return t.skip('needs native and fastify');
    await fc.assert(fc.asyncProperty(contentType, checkContentType), runs(300));
  });

  /** parseJsonStrict accepts `bytes` exactly when native's /echo does, with the same output. */
  async function checkParse(bytes: Uint8Array): Promise<void> {
    const server = servers.get('native');
    assert.ok(server);
    const reply = await send(server.endpoint, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(bytes),
    });
    assert.ok(reply.status === 200 || reply.status === 400, `${reply.status} ${reply.text}`);
    let parsed: string | undefined;
    try {
      parsed = JSON.stringify(parseJsonStrict(Buffer.from(bytes)));
    } catch {
      parsed = undefined;
    }
    const label = JSON.stringify(Buffer.from(bytes).toString('latin1'));
    assert.equal(parsed, reply.status === 200 ? reply.text : undefined, `parseJsonStrict vs native on ${label}`);
    assert.equal(parsed, echoOf(bytes), `parseJsonStrict vs the README's rules on ${label}`);
  }

  it('parseJsonStrict: on JSON texts, near-JSON and broken bytes', async (t) => {
    if (servers.size === 0) return t.skip('needs native and fastify');
    const input = fc.oneof(
      jsonText.map((text) => Buffer.from(text)),
      deepText.map((text) => Buffer.from(text)),
      brokenBytes,
    );
    await fc.assert(fc.asyncProperty(input, checkParse), runs(500));
  });

  it('parseJsonStrict: on every text of the seed corpus', async (t) => {
    if (servers.size === 0) return t.skip('needs native and fastify');
    for (const [text] of readCorpus('json.jsonl')) await checkParse(Buffer.from(String(text)));
  });
});
