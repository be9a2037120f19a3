// Differential parity: the same requests, odd ones included, sent to every backend; whatever
// one backend answers, the others must answer identically (status, JSON body, content type,
// Allow). This catches differences the contract suite does not think to assert.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/api/errors';
import { nativeErrorCatalogue } from '../../src/backends/native';
import { BACKENDS, requireBackend, type StartedBackend, startBackend, testConfig } from '../helpers/backends';
import { type RequestOptions, send } from '../helpers/http';

const json = { 'content-type': 'application/json' };

const REQUESTS: RequestOptions[] = [
  { path: '/hello?name=%F0%9F%98%80' },
  { path: '/hello?name=a%00b' },
  { path: '/hello?name=%ff' },
  { path: '/hello?name=%' },
  { path: '/hello?=x&name=+' },
  { path: '/hello?name=%E2%80%AE%0A' },
  { path: '/hello#frag' },
  { path: '/hello;x=1' },
  { path: '/hello??name=x' },
  { path: '/hello?name=a"b' },
  { path: '/hel<lo' },
  { path: '/%2e%2e/hello' },
  { path: '/a/../hello' },
  { path: '/hello%2F' },
  { path: '/*' },
  { method: 'POST', path: '/hello' },
  { method: 'PROPFIND', path: '/hello' },
  { method: 'POST', path: '/echo', headers: json, body: '{"a":1,"a":2,"b":{"a":3}}' },
  { method: 'POST', path: '/echo', headers: json, body: '9007199254740993' },
  { method: 'POST', path: '/echo', headers: json, body: '[1.0, 1e2, -0, 0.1, 1E-7, 123456789012]' },
  { method: 'POST', path: '/echo', headers: json, body: '"\\u0000\\u001f\\u2028\\ud83d\\ude00\\/"' },
  { method: 'POST', path: '/echo', headers: json, body: '{"\\ud800":1}' },
  { method: 'POST', path: '/echo', headers: json, body: '{"b":1,"2":2,"10":3,"1":4,"01":5,"-1":6,"4294967295":7}' },
  { method: 'POST', path: '/echo', headers: json, body: `1${'0'.repeat(250)}e99` },
  { method: 'POST', path: '/echo', headers: json, body: `[1${'0'.repeat(310)}]` },
  { method: 'POST', path: '/echo', headers: json, body: '[1e308, 2e308, -1e-400]' },
  { method: 'POST', path: '/echo', headers: json, body: '{"a":"\\ud800","a":1}' },
  { method: 'POST', path: '/echo', headers: json, body: '{"a":1e400,"a":1}' },
  { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json; charset=\u00e9' }, body: '1' },
  { method: 'POST', path: '/echo', headers: json, body: '\t\n {"x" : [ ] } \r\n' },
  { method: 'POST', path: '/echo', headers: json, body: '{"a":1}x' },
  { method: 'POST', path: '/echo', headers: json, body: '"\u00e9"' },
  { method: 'POST', path: '/echo', headers: json, body: Buffer.from([0x22, 0xc3, 0x28, 0x22]) },
  { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json;charset=latin1' }, body: '1' },
  { method: 'POST', path: '/echo', headers: { 'content-type': ' application/json ' }, body: '1' },
  { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json+xml' }, body: '1' },
  { method: 'POST', path: '/echo', headers: { 'content-type': '' }, body: '1' },
  { method: 'GET', path: '/echo', headers: { ...json, 'content-length': 2 }, body: '{}' },
  { path: '/hello?name=a#b' },
  { method: 'POST', path: '/hash', headers: { 'content-type': 'application/json' }, body: 'not json at all' },
  { method: 'POST', path: '/counter', body: 'ignored body' },
  { method: 'HEAD', path: '/nope' },
  { method: 'OPTIONS', path: '/nope' },
];

describe('every backend answers the same requests identically', () => {
  const started = new Map<string, StartedBackend>();

  before(async (t) => {
    for (const backend of BACKENDS) {
      if (!requireBackend(t as never, backend)) return;
      started.set(backend, await startBackend(backend, 'unix'));
    }
  });
  after(async () => {
    for (const server of started.values()) await server.stop();
  });

  for (const request of REQUESTS) {
    const label = `${request.method ?? 'GET'} ${request.path} ${String(request.body ?? '').slice(0, 40)}`;
    it(label, async () => {
      const answers = new Map<string, unknown>();
      for (const [backend, server] of started) {
        const reply = await send(server.endpoint, request);
        answers.set(backend, {
          status: reply.status,
          contentType: reply.headers['content-type'],
          allow: reply.headers.allow,
          body: reply.text,
        });
      }
      const [first, ...rest] = [...answers.entries()];
      assert.ok(first, 'at least one backend ran');
      for (const [backend, answer] of rest) {
        assert.deepEqual(answer, first[1], `${backend} differs from ${first[0]}`);
      }
    });
  }
});

describe('the error catalogue', () => {
  it('is the same in the native addon and in TypeScript', (t) => {
    if (!requireBackend(t, 'native')) return;
    assert.deepEqual(nativeErrorCatalogue(testConfig('native')), ERROR_CATALOGUE);
  });
});
