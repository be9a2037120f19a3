// The committed SCGI corpus (native/tests/scgi-corpus/*.bin, also run against the Rust server by
// native/tests/scgi_corpus.rs) against a real SCGI server of every backend: each file on its own
// connection, our side ended after its bytes. The file name says what must come back: `closed-*`
// nothing (broken framing: closed unanswered), `<status>-*` a CGI answer with that status. Then
// parity: every backend answers every file with the same bytes (the date, and the body of
// /health, aside). A new case is a new file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { REPO_ROOT } from '../helpers/app-process';
import { ALL_BACKENDS, type StartedBackend, startBackend } from '../helpers/backends';
import { expectError } from '../helpers/expect';
import { parseCgi, scgiUnavailable, sendRaw } from '../helpers/scgi';

const DIR = path.join(REPO_ROOT, 'native', 'tests', 'scgi-corpus');
const FILES = readdirSync(DIR)
  .filter((name) => name.endsWith('.bin'))
  .sort()
  .map((name) => ({ name: name.slice(0, -'.bin'.length), bytes: readFileSync(path.join(DIR, name)) }));
/** The server must close within this (no request of the corpus stalls). */
const WAIT_MS = 5_000;

/** The bytes with what differs between backends by design masked: the date, and the body of
 * /health (its backend, pid, uptime and the state of the app's checks) with its length. */
function comparable(bytes: Buffer, head: boolean): string {
  const text = bytes.toString('latin1').replace(/\r\ndate: [^\r]*/, '\r\ndate: *');
  const health = /\r\n\r\n\{"status":"[a-z]+","backend":"[a-z]+",.*\}$/s;
  if (!health.test(text) && !head) return text;
  return text.replace(health, '\r\n\r\n<health>').replace(/\r\ncontent-length: \d+/, '\r\ncontent-length: *');
}

/** What every backend answered, by file. */
const answers = new Map<string, Map<BackendName, string>>();

it('the corpus is there', () => {
  assert.ok(FILES.length >= 40, `${FILES.length} files in ${DIR}`);
});

for (const backend of ALL_BACKENDS) {
  describe(`the SCGI corpus on ${backend}`, { skip: scgiUnavailable(backend) ?? false }, () => {
    let started: StartedBackend | undefined;
    before(async () => {
      started = await startBackend(backend, 'unix', { HANDOFF_PROTOCOL: 'scgi' });
    });
    after(() => started?.stop());

    for (const { name, bytes } of FILES) {
      it(name, async () => {
        assert.ok(started);
        const got = await sendRaw(started.endpoint, bytes, { end: true, timeoutMs: WAIT_MS });
        assert.ok(got.closed, 'the server closed the connection');
        const expected = name.split('-', 1)[0];
        const byBackend = answers.get(name) ?? new Map<BackendName, string>();
        answers.set(name, byBackend);
        if (expected === 'closed') {
          assert.equal(got.bytes.length, 0, `no answer: ${got.bytes.toString('latin1').slice(0, 200)}`);
          byBackend.set(backend, '');
          return;
        }
        const reply = parseCgi(got.bytes);
        assert.equal(reply.status, Number(expected), reply.lines.join('|'));
        assert.doesNotMatch(reply.statusLine, /^HTTP/);
        assert.ok(!('transfer-encoding' in reply.headers) && !('connection' in reply.headers), reply.lines.join('|'));
        assert.ok(typeof reply.headers.date === 'string', 'a date');
        if (name.startsWith('200-head-')) assert.equal(reply.body.length, 0, 'HEAD: no body');
        else assert.equal(reply.headers['content-length'], String(reply.body.length), 'content-length');
        if (name === '400-body-shorter-then-eof') expectError(reply, 'body_read_failed');
        else if (name === '400-refused-target-bare') assert.equal(reply.body.length, 0, 'the bare 400');
        else if (expected === '400') expectError(reply, 'bad_request');
        else if (expected === '404') expectError(reply, 'not_found');
        const bytesRead = { '200-bytes-after-body': 5, '200-body-in-head-read': 3, '200-framing-headers-dropped': 4 };
        const read = bytesRead[name as keyof typeof bytesRead];
        if (read !== undefined) assert.deepEqual(reply.json(), { bytes: read });
        byBackend.set(backend, comparable(got.bytes, name.startsWith('200-head-')));
      });
    }
  });
}

describe('SCGI corpus parity', () => {
  it('every backend answers every file with the same bytes', (t) => {
    const tested = ALL_BACKENDS.filter((backend) => scgiUnavailable(backend) === undefined);
    if (tested.length < 2) {
      t.skip(`only ${tested.join(', ')} can be tested here`);
      return;
    }
    for (const { name } of FILES) {
      const byBackend = answers.get(name);
      assert.ok(byBackend, name);
      const [first, ...others] = tested.map((backend) => [backend, byBackend.get(backend)] as const);
      assert.ok(first?.[1] !== undefined, `${name}: ${first?.[0]} answered`);
      for (const [backend, bytes] of others) assert.equal(bytes, first[1], `${name}: ${backend} and ${first[0]}`);
    }
  });
});
