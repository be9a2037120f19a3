// The demo's contract: GET /hello, GET /hello/{name}, POST /echo, POST /hash and /counter, as a
// client sees them. Run against every backend and transport (examples.test.ts). Deleted with the
// demo by `npm run examples:remove`; the core contract (test/contract/suite.ts) never uses it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import type { ErrorCode } from '../../src/api/errors';
import { type ContractTarget, expectAtomicCounter, expectMethodsNotAllowed } from '../contract/suite';
import { TEST_ENV } from '../helpers/backends';
import { catalogueEntry, expectError, expectJson } from '../helpers/expect';
import { type Reply, type RequestOptions, send } from '../helpers/http';

const BODY_LIMIT = Number(TEST_ENV.HANDOFF_BODY_LIMIT);
const HASH_LIMIT = Number(TEST_ENV.HANDOFF_HASH_LIMIT);

/** The names both /hello?name= and /hello/{name} greet, as sent in a query value and in a path
 * segment, and the greeting. */
const NAMES: [query: string, segment: string, greeting: string][] = [
  ['Ann', 'Ann', 'Hello, Ann!'],
  ['Ann+Lee%21', 'Ann%20Lee!', 'Hello, Ann Lee!!'],
  ['%C3%A9t%C3%A9', '%C3%A9t%C3%A9', 'Hello, été!'],
  ['%22q%22', '%22q%22', 'Hello, "q"!'],
  ['a%2Fb', 'a%2Fb', 'Hello, a/b!'],
  ['%2541', '%2541', 'Hello, %41!'],
  [encodeURIComponent('😀'.repeat(100)), encodeURIComponent('😀'.repeat(100)), `Hello, ${'😀'.repeat(100)}!`],
  ['x'.repeat(100), 'x'.repeat(100), `Hello, ${'x'.repeat(100)}!`],
];

/** Defines the examples' tests; call inside a `describe` whose `before` sets up the target. */
export function defineExampleTests(target: () => ContractTarget): void {
  const call = (options: RequestOptions) => {
    const { endpoint, basePath } = target();
    return send(endpoint, { ...options, path: basePath + options.path });
  };
  const expectErr = (reply: Reply, code: ErrorCode, params: Record<string, string | number> = {}) => {
    const close: Record<string, string> =
      catalogueEntry(code).close === true && target().direct ? { connection: 'close' } : {};
    expectError(reply, code, params, close);
  };
  const postJson = (body: string | Buffer, contentType = 'application/json') =>
    call({ method: 'POST', path: '/echo', headers: { 'content-type': contentType }, body });

  it('GET /hello greets the name, or World', async () => {
    const cases: [string, string][] = [
      ['/hello', 'Hello, World!'],
      ['/hello?name=first&name=second', 'Hello, first!'],
      ['/hello?other=1&name=%22q%22', 'Hello, "q"!'],
      ['/hello?name=%zz', 'Hello, %zz!'],
      ['/hello?name=a+b', 'Hello, a b!'],
      ...NAMES.map(([query, , greeting]): [string, string] => [`/hello?name=${query}`, greeting]),
    ];
    for (const [path, message] of cases) {
      assert.deepEqual(expectJson(await call({ path }), 200), { message }, path);
    }
  });

  it('GET /hello refuses an empty or too long name with 400 invalid_name', async () => {
    const tooLong = encodeURIComponent('😀'.repeat(101));
    for (const path of ['/hello?name=', '/hello?name', `/hello?name=${'x'.repeat(101)}`, `/hello?name=${tooLong}`]) {
      expectErr(await call({ path }), 'invalid_name');
    }
  });

  it('GET /hello/{name} greets the name from the path as /hello?name= does', async (t) => {
    for (const [query, segment, greeting] of NAMES) {
      if (target().behindApache && /%2F/i.test(segment)) continue; // Apache refuses an encoded slash
      const byPath = expectJson(await call({ path: `/hello/${segment}` }), 200);
      assert.deepEqual(byPath, { message: greeting }, `/hello/${segment}`);
      assert.deepEqual(byPath, expectJson(await call({ path: `/hello?name=${query}` }), 200), 'the same answer');
    }
    // In a path `+` is a plus, not a space (a query's form encoding does not apply).
    assert.deepEqual(expectJson(await call({ path: '/hello/a+b' }), 200), { message: 'Hello, a+b!' });
    // The query is not the name.
    assert.deepEqual(expectJson(await call({ path: '/hello/Ann?name=Bob' }), 200), { message: 'Hello, Ann!' });
    if (target().behindApache) t.diagnostic('behind Apache: the encoded slash case is left out');
  });

  it('GET /hello/{name} refuses a too long name with 400 invalid_name, a malformed one with 400', async () => {
    expectErr(await call({ path: `/hello/${'x'.repeat(101)}` }), 'invalid_name');
    expectErr(await call({ path: `/hello/${encodeURIComponent('😀'.repeat(101))}` }), 'invalid_name');
    if (!target().behindApache) {
      expectErr(await call({ path: '/hello/%zz' }), 'invalid_path_parameter');
      expectErr(await call({ path: '/hello/%FF' }), 'invalid_path_parameter');
    }
    for (const path of ['/hello/', '/hello/Ann/', '/hello/Ann/Lee', '/hello//']) {
      expectErr(await call({ path }), 'not_found');
    }
  });

  it('POST /echo returns the same JSON, key order included', async () => {
    const texts = [
      '{"b":1,"a":[true,false,null,"x",-2.5,{"z":{}}]}',
      '"a string with \\"quotes\\", \\n and ünïcødé"',
      '42',
      'null',
      '[]',
    ];
    for (const text of texts) {
      const reply = await postJson(text);
      expectJson(reply, 200);
      assert.equal(reply.text, text);
    }
    const spaced = await postJson(' { "k" : [ 1 , 2 ] } ');
    assert.deepEqual(expectJson(spaced, 200), { k: [1, 2] });
    const numbers = await postJson('[1.0, 1e2, -0, 0.50, 1E-7]');
    assert.equal(numbers.text, '[1,100,0,0.5,1e-7]', 'numbers printed as JavaScript prints them');
  });

  it('POST /echo accepts JSON media types with parameters and +json suffixes', async () => {
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json']) {
      assert.deepEqual(expectJson(await postJson('{"ok":true}', type), 200), { ok: true }, type);
    }
  });

  it('POST /echo refuses other content types with 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      expectErr(await postJson('{}', type), 'unsupported_media_type');
    }
    const untyped = await call({ method: 'POST', path: '/echo', body: '{}' });
    expectErr(untyped, 'unsupported_media_type');
  });

  it('POST /echo refuses invalid JSON with 400 invalid_json', async () => {
    const bad: (string | Buffer)[] = [
      '',
      '{',
      '{"a":1,}',
      "{'a':1}",
      'NaN',
      '[1] [2]',
      Buffer.from([0x22, 0xff, 0x22]), // invalid UTF-8
      Buffer.from([0x22, 0xc3, 0x28, 0x22]), // invalid UTF-8
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]), // byte-order mark
      '1e400', // beyond a double
      '"\\ud800"', // lone surrogate
      `${'['.repeat(128)}${']'.repeat(128)}`,
      '['.repeat(60_000), // deep, within the body limit
    ];
    for (const body of bad) {
      expectErr(await postJson(body), 'invalid_json');
    }
    assert.equal((await postJson(`${'['.repeat(127)}${']'.repeat(127)}`)).status, 200, 'depth 127 is allowed');
  });

  it('POST /echo refuses a body over HANDOFF_BODY_LIMIT with 413, declared or chunked', async () => {
    const big = JSON.stringify('x'.repeat(BODY_LIMIT));
    expectErr(await postJson(big), 'payload_too_large', { limit: BODY_LIMIT });
    const chunked = await call({
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: big,
    });
    expectErr(chunked, 'payload_too_large', { limit: BODY_LIMIT });
    const declared = await call({
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json', expect: '100-continue' },
      body: big,
    });
    expectErr(declared, 'payload_too_large', { limit: BODY_LIMIT });
    if (!target().behindApache) assert.equal(declared.bodySent, false, 'refused before the body is sent');
    const fits = JSON.stringify('x'.repeat(BODY_LIMIT - 2));
    assert.equal((await postJson(fits)).status, 200, 'a body of exactly the limit is accepted');
  });

  it('POST /hash returns the SHA-256 and size of any body', async () => {
    const bodies = [Buffer.from('abc'), Buffer.alloc(0), randomBytes(HASH_LIMIT)];
    for (const body of bodies) {
      const reply = await call({ method: 'POST', path: '/hash', headers: { 'content-type': 'image/png' }, body });
      const sha256 = createHash('sha256').update(body).digest('hex');
      assert.deepEqual(expectJson(reply, 200), { sha256, bytes: body.length });
    }
  });

  it('POST /hash streams a chunked body and refuses one over HANDOFF_HASH_LIMIT with 413', async () => {
    const body = randomBytes(100_000);
    const reply = await call({ method: 'POST', path: '/hash', headers: { 'transfer-encoding': 'chunked' }, body });
    assert.deepEqual(expectJson(reply, 200), {
      sha256: createHash('sha256').update(body).digest('hex'),
      bytes: body.length,
    });
    const tooBig = Buffer.alloc(HASH_LIMIT + 1);
    const declared = await call({ method: 'POST', path: '/hash', headers: { expect: '100-continue' }, body: tooBig });
    expectErr(declared, 'payload_too_large', { limit: HASH_LIMIT });
    if (!target().behindApache) {
      assert.equal(declared.bodySent, false, 'a declared oversize body is refused before it is sent');
    }
    const chunked = await call({
      method: 'POST',
      path: '/hash',
      headers: { 'transfer-encoding': 'chunked' },
      body: tooBig,
    });
    expectErr(chunked, 'payload_too_large', { limit: HASH_LIMIT });
  });

  it('POST /hash sent with Expect: 100-continue is read and answered', async () => {
    const body = randomBytes(10_000);
    const reply = await call({ method: 'POST', path: '/hash', headers: { expect: '100-continue' }, body });
    assert.deepEqual(expectJson(reply, 200), {
      sha256: createHash('sha256').update(body).digest('hex'),
      bytes: body.length,
    });
    assert.equal(reply.bodySent, true);
  });

  it('/counter counts atomically', async () => {
    await expectAtomicCounter(call, '/counter');
  });

  it('the example routes answer 405 with Allow to other methods', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/hello', 'GET,HEAD'],
      ['POST', '/hello/Ann', 'GET,HEAD'],
      ['GET', '/echo', 'POST'],
      ['HEAD', '/echo', 'POST'],
      ['PUT', '/hash', 'POST'],
      ['DELETE', '/counter', 'GET,HEAD,POST'],
    ];
    await expectMethodsNotAllowed(call, cases);
  });
}
