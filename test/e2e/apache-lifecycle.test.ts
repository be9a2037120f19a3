// Restarts, crashes and shutdown under real Apache + mod_passenger, with load running:
// - `touch tmp/restart.txt` drops no request, and the new process answers afterwards;
// - `kill -9` of the app: Passenger starts a new one; only requests in flight may fail;
// - Apache's graceful stop: a request in flight completes, then the app exits by itself.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { type ApacheInstance, apacheUnavailable, requireApache, startApache } from '../helpers/apache';
import { backendUnavailable, requireBackend, TEST_ENV } from '../helpers/backends';
import { unlessMissing } from '../helpers/util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Requests at least, per run (issue 3 asks for 2000 across a restart). */
const MIN_REQUESTS = 2000;
/** Parallel clients of the load generator. */
const CONCURRENCY = 8;

interface LoadResult {
  sent: number;
  failed: number;
  failures: string[];
  /** App pids in the order their answers were first seen. */
  pids: number[];
  /** Answers counted after `event` ran. */
  answeredAfterEvent: number;
}

/**
 * Sends GET /health and POST /__test/upload from CONCURRENCY clients until at least MIN_REQUESTS were
 * sent and, after `event` ran (once 300 requests were sent), a process other than the first has
 * answered 200 requests. A failure is anything but the right status and body.
 */
async function runLoad(port: number, event: () => void): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, failed: 0, failures: [], pids: [], answeredAfterEvent: 0 };
  let eventDone = false;
  let newProcessAnswers = 0;
  const deadline = Date.now() + 120_000;
  const done = () =>
    (result.sent >= MIN_REQUESTS && newProcessAnswers >= 200) || Date.now() > deadline || result.failed > 1000;
  const client = async (id: number) => {
    for (let i = 0; !done(); i++) {
      if (!eventDone && result.sent >= 300) {
        eventDone = true;
        event();
      }
      result.sent++;
      const counted = eventDone;
      const outcome = await (i % 2 === 0 ? health(port) : upload(port, `${id}-${i}`));
      if (typeof outcome === 'string') {
        result.failed++;
        if (result.failures.length < 20) result.failures.push(outcome);
        continue;
      }
      if (counted) result.answeredAfterEvent++;
      if (outcome.pid !== undefined) {
        if (!result.pids.includes(outcome.pid)) result.pids.push(outcome.pid);
        if (counted && outcome.pid !== result.pids[0]) newProcessAnswers++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, id) => client(id)));
  return result;
}

/** One request; its outcome, or what went wrong. */
function exchange(
  port: number,
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; text: string } | string> {
  return new Promise((resolve) => {
    const headers =
      body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request(
      { host: '127.0.0.1', port, method, path: urlPath, agent: false, headers, timeout: 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (error) => resolve(`${method} ${urlPath}: ${error.message}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve(`${method} ${urlPath}: ${error.message}`));
    req.end(body);
  });
}

async function health(port: number): Promise<{ pid?: number } | string> {
  const reply = await exchange(port, 'GET', '/api/health');
  if (typeof reply === 'string') return reply;
  if (reply.status !== 200) return `GET /api/health: ${reply.status} ${reply.text.slice(0, 100)}`;
  return { pid: (JSON.parse(reply.text) as { pid: number }).pid };
}

async function upload(port: number, tag: string): Promise<{ pid?: number } | string> {
  const body = JSON.stringify({ tag });
  const reply = await exchange(port, 'POST', '/api/__test/upload', body);
  if (typeof reply === 'string') return reply;
  const expected = JSON.stringify({ bytes: Buffer.byteLength(body) });
  if (reply.status !== 200 || reply.text !== expected) {
    return `POST /api/__test/upload: ${reply.status} ${reply.text.slice(0, 100)}`;
  }
  return {};
}

/** POST /api/__test/upload, chunked, one piece every 100 ms; `midway` runs once the third piece went out. */
function pacedUpload(
  port: number,
  pieces: Buffer[],
  midway: () => void,
): Promise<{ status: number; text: string } | string> {
  return new Promise((resolve) => {
    const headers = { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' };
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/api/__test/upload', agent: false, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', (error) => resolve(`POST /api/__test/upload: ${error.message}`));
    const write = (index: number) => {
      if (index === pieces.length) {
        req.end();
        return;
      }
      req.write(pieces[index], () => {
        // By the third piece Apache has passed the request on and the app is reading it.
        if (index === 2) midway();
        setTimeout(() => write(index + 1), 100);
      });
    };
    write(0);
  });
}

for (const backend of ['native', 'fastify'] as BackendName[]) {
  describe(`${backend} under Apache + mod_passenger, with load running`, {
    skip: backendUnavailable(backend) ?? unlessMissing(apacheUnavailable()),
  }, () => {
    let apache: ApacheInstance | undefined;

    before(async () => {
      apache = await startApache({
        appRoot: REPO_ROOT,
        baseUri: '/api',
        env: { ...TEST_ENV, HANDOFF_BACKEND: backend },
      });
    });
    after(async () => {
      await apache?.stop('stop');
    });

    it('touch tmp/restart.txt: 0 failed requests, and the new process answers', async (t) => {
      assert.ok(apache, 'Apache is running');
      const instance = apache;
      const result = await runLoad(instance.port, () => instance.restart());
      t.diagnostic(
        `restart under load: ${result.sent} requests sent, ${result.failed} failed; pids ${result.pids.join(' → ')}`,
      );
      assert.ok(result.sent >= MIN_REQUESTS, `${result.sent} requests sent`);
      assert.deepEqual(result.failures, [], 'no failed request');
      assert.equal(result.pids.length, 2, `one restart: pids ${result.pids.join(', ')}`);
      const [oldPid, newPid] = result.pids;
      assert.deepEqual(instance.appPids(), [newPid], 'only the new process is left');
      const log = instance.readLog();
      assert.match(log, new RegExp(`App ${oldPid} output: \\[main\\] Passenger asked the app to exit`));
      assert.match(log, new RegExp(`App ${oldPid} output: \\[main\\] stopped`));
    });

    it('kill -9 of the app: Passenger starts a new one; only requests in flight fail', async (t) => {
      assert.ok(apache, 'Apache is running');
      const instance = apache;
      const [victim] = instance.appPids();
      assert.ok(victim, 'the app process is known');
      const result = await runLoad(instance.port, () => process.kill(victim, 'SIGKILL'));
      t.diagnostic(
        `kill -9 under load: ${result.sent} requests sent, ${result.failed} failed (${CONCURRENCY} clients)`,
      );
      for (const failure of result.failures) t.diagnostic(`  ${failure}`);
      assert.ok(result.sent >= MIN_REQUESTS, `${result.sent} requests sent`);
      assert.ok(result.failed <= CONCURRENCY, `at most the ${CONCURRENCY} requests in flight failed: ${result.failed}`);
      assert.ok(result.pids.length >= 2 && !result.pids.slice(1).includes(victim), 'a new process answers');
      assert.throws(() => process.kill(victim, 0), /ESRCH/, 'the killed process is gone');
    });
  });
}

describe('native under Apache: graceful stop with a request in flight', () => {
  it('completes the upload, then the app exits by itself', async (t) => {
    if (!requireBackend(t, 'native') || !requireApache(t)) return;
    // Unbuffered, so that the app, not Passenger, holds the request while Apache stops.
    const apache = await startApache({
      appRoot: REPO_ROOT,
      baseUri: '/api',
      bufferUpload: false,
      env: { ...TEST_ENV },
    });
    try {
      const pids = apache.appPids();
      let stopped: Promise<{ clean: boolean }> | undefined;
      // 40 KiB in all: within TEST_ENV's HANDOFF_BODY_LIMIT (64 KiB).
      const pieces = Array.from({ length: 10 }, () => randomBytes(4 * 1024));
      const upload = pacedUpload(apache.port, pieces, () => {
        stopped = apache.stop('graceful-stop');
      });
      const reply = await upload;
      assert.ok(typeof reply !== 'string', String(reply));
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(JSON.parse(reply.text), { bytes: Buffer.concat(pieces).length });
      assert.ok(stopped, 'the stop began during the upload');
      const { clean } = await stopped;
      assert.ok(clean, 'Apache, Passenger and the app exited without being killed');
      const log = apache.readLog();
      assert.match(log, /\[main\] Passenger asked the app to exit: finishing in-flight requests/);
      assert.match(log, /\[main\] stopped/);
      assert.doesNotMatch(log, /did not exit in time/);
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `app process ${pid} is gone`);
    } finally {
      await apache.stop('stop');
    }
  });
});
