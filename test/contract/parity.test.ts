// Differential parity of the core: the same requests, odd ones included, sent to every backend;
// whatever one backend answers, the others must answer identically. This catches differences the
// contract suite does not think to assert: path matching and parameter decoding above all (axum's
// matchit is the reference, find-my-way adapts), with and without a base path. And the error
// catalogue itself: code, status and message the same in the native addon, in TypeScript and in
// src/api/errors.json.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/api/errors';
import { nativeErrorCatalogue } from '../../src/backends/native';
import { requireBackend, testConfig } from '../helpers/backends';
import { CATALOGUE_FILE } from '../helpers/expect';
import type { RequestOptions } from '../helpers/http';
import { describeParity } from '../helpers/parity';
import { PATH_CASES } from './suite';

/** Path parameters: every case of the contract, and more that it does not pin down. */
const PARAMS: RequestOptions[] = [
  ...PATH_CASES.map(({ path }) => ({ path })),
  { path: '/__test/params/a%252Fb/%2e%2e' },
  { path: '/__test/params/./..' },
  { path: '/__test/params/..%2F/b' },
  { path: '/__test/params/a%3Fb/c%23d' },
  { path: '/__test/params/a;x=1/b' },
  { path: '/__test/params/a#frag/b' },
  { path: '/__test/params/a/b#frag' },
  { path: '/__test/params/%00/%0A' },
  { path: '/__test/params/%E2%80%AE/%EF%BB%BF' },
  { path: '/__test/params/%C0%AF/b' },
  { path: '/__test/params/%F4%90%80%80/b' },
  { path: '/__test/params/%c3%a9/b' },
  { path: '/__test/params/%/b' },
  { path: '/__test/params/%2/b' },
  { path: '/__test/params/%%41/b' },
  { path: '/__test/params/%u00e9/b' },
  { path: "/__test/params/a:b/@!$&'()*,=" },
  { path: `/__test/params/${'x'.repeat(4000)}/b` },
  { path: '/__test/PARAMS/a/b' },
  { path: '/__test/params/a//' },
  { path: '/__test/params///' },
  { method: 'HEAD', path: '/__test/params/a/b' },
  { method: 'HEAD', path: '/__test/params/%zz/b' },
  { method: 'POST', path: '/__test/params/a/b' },
  { method: 'POST', path: '/__test/params/%zz/b' },
  { method: 'OPTIONS', path: '/__test/params/a/b/' },
  { path: '/__test/files/a//b' },
  { path: '/__test/files//a' },
  { path: '//__test/files/a' },
  { path: '/__test/files/a/../b' },
  { path: '/__test/files/..%2F..%2Fetc%2Fpasswd' },
  { path: '/__test/files/a?b=c' },
  { path: '/__test/files/%2F' },
  { path: '/__test/files/%20' },
  { path: '/__test/files/a/%zz/b' },
  { path: '/__test/files/a.b/c.d/' },
  { method: 'POST', path: '/__test/files/a' },
  { method: 'POST', path: '/__test/files/' },
];

/** Everything else of the core: odd paths, methods and targets, uploads and the counter. */
const CORE: RequestOptions[] = [
  { path: '/__test/count#frag' },
  { path: '/__test/count;x=1' },
  { path: '/__test/count?' },
  { path: '/__test/count??x' },
  { path: '/__test/cou<nt' },
  { path: '/%2e%2e/__test/count' },
  { path: '/a/../__test/count' },
  { path: '/health%2F' },
  { path: '/__test/count/.' },
  { path: '/*' },
  { path: '/__test/' },
  { path: '/__test/count/' },
  { method: 'POST', path: '/health' },
  { method: 'PROPFIND', path: '/health' },
  { method: 'HEAD', path: '/nope' },
  { method: 'OPTIONS', path: '/nope' },
  { method: 'OPTIONS', path: '*' },
  { method: 'POST', path: '/__test/count', body: 'ignored body' },
  { path: '/__test/cached' },
  { method: 'HEAD', path: '/__test/cached' },
  { method: 'POST', path: '/__test/cached' },
  { method: 'POST', path: '/__test/upload', body: 'abc' },
  { method: 'POST', path: '/__test/upload', headers: { 'content-type': 'application/json' }, body: 'not json at all' },
  { method: 'POST', path: '/__test/upload', headers: { 'transfer-encoding': 'chunked' }, body: 'x'.repeat(100) },
  { method: 'POST', path: '/__test/upload', body: Buffer.alloc(64 * 1024 + 1) },
  { method: 'PUT', path: '/__test/upload', body: 'abc' },
  { method: 'GET', path: '/__test/upload', headers: { 'content-length': 2 }, body: '{}' },
];

describeParity('every backend answers the same requests identically', [...PARAMS, ...CORE]);

describeParity(
  'every backend answers the same requests identically under a base path',
  [
    ...PARAMS.map((request) => ({ ...request, path: `/api${request.path}` })),
    { path: '/api' },
    { path: '/api/' },
    { path: '/apix/__test/count' },
    { path: '/API/__test/count' },
    { path: '/x/api/__test/count' },
    { path: '/api//__test/count' },
    { path: '/api%2F__test/count' },
    { path: '/%61pi/__test/count' },
    { path: '/__test/params/a/b' },
  ],
  { HANDOFF_BASE_PATH: '/api' },
);

describe('the error catalogue', () => {
  const fromFile = Object.entries(CATALOGUE_FILE).map(([code, { status, message }]) => ({ code, status, message }));

  it('in TypeScript is src/api/errors.json: code, status and message, in file order', () => {
    assert.deepEqual(
      ERROR_CATALOGUE.map(({ code, status, message }) => ({ code, status, message })),
      fromFile,
    );
  });

  it('in the native addon is src/api/errors.json: code, status and message, in file order', (t) => {
    if (!requireBackend(t, 'native')) return;
    assert.deepEqual(nativeErrorCatalogue(testConfig('native')), fromFile);
  });
});
