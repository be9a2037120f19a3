// The notes' database failing under real servers (`node app.js`), on native and the fallback:
// - a MariaDB that is down at start: the app starts all the same, /health says `degraded` with the
//   database `down`, the notes answer 503 `database_unavailable` ("it did not answer"), the rest
//   of the API serves; once the database is back the notes work, with no restart;
// - a MariaDB killed under load: 503s (never another 5xx, never a dropped connection), the process
//   lives, and once the database is back every acknowledged write is there;
// - SQLite on a read-only file system (from the start, and an existing file), and on a full one:
//   a log line that says why, 503 "the data directory is not writable.", nothing corrupted
//   (`PRAGMA integrity_check`, every acknowledged note there), and the notes work again once the
//   directory is writable, with no restart. tmpfs mounts: root only.
// The password never shows in a log line.
import assert from 'node:assert/strict';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { backendUnavailable } from '../helpers/backends';
import { expectError, expectJson } from '../helpers/expect';
import type { Reply } from '../helpers/http';
import { MARIADB_PASSWORD, type MariaDbInstance, requireMariaDb, startMariaDb } from '../helpers/mariadb';
import {
  allNotes,
  eventually,
  Fixtures,
  type Note,
  postNote,
  remount,
  requireMounts,
  type Served,
  sqliteIntegrity,
} from './notes-servers';

const NO_ANSWER = { reason: 'it did not answer; try again shortly.' };
const NOT_WRITABLE = { reason: 'the data directory is not writable.' };

const fixtures = new Fixtures();
let mariadb: MariaDbInstance | undefined;
after(async () => {
  fixtures.cleanUp();
  await mariadb?.remove();
});

/** One MariaDB for the file, started by the first test that needs it, running when returned. */
async function sharedMariaDb(): Promise<MariaDbInstance> {
  mariadb ??= await startMariaDb();
  if (!mariadb.running()) await mariadb.start();
  return mariadb;
}

function skipUnless(t: { skip(message?: string): void }, backend: BackendName): boolean {
  const why = backendUnavailable(backend);
  if (why === undefined) return true;
  t.skip(why);
  return false;
}

/** The app logs a `database unavailable` line that says why (`cause`, after it on the line), and
 * never the password (plain or percent-encoded). Waits for the line: stderr arrives through a pipe. */
async function assertLoggedWithoutPassword(server: Served, cause: RegExp): Promise<void> {
  const pattern = new RegExp(`database unavailable.*(${cause.source})`, cause.flags);
  await server.app.waitForLine(pattern, 10_000).catch(() => {
    assert.fail(`a log line says the database is unavailable and why (${cause}):\n${server.app.lines().join('\n')}`);
  });
  const all = server.app.lines().join('\n');
  assert.ok(!all.includes(MARIADB_PASSWORD), 'the password is not logged');
  assert.ok(!all.includes(encodeURIComponent(MARIADB_PASSWORD)), 'the encoded password is not logged');
}

/** Asserts a 503 `database_unavailable` with `reason`; on a mismatch the failure shows the app's log. */
function expectUnavailable(server: Served, reply: Reply, reason: { reason: string }): void {
  try {
    expectError(reply, 'database_unavailable', reason);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- the app's log:\n${server.app.lines().join('\n')}`);
  }
}

async function health(server: Served): Promise<{ status: string; checks?: Record<string, string> }> {
  return expectJson(await server.call({ path: '/health' }), 200) as { status: string; checks?: Record<string, string> };
}

async function created(server: Served, title: string, body = 'b'): Promise<Note> {
  return expectJson(await server.call(postNote(title, body)), 201) as Note;
}

/** Asserts every note of `expected` is served by `server` as it was acknowledged. */
async function assertAllThere(server: Served, expected: readonly Note[]): Promise<void> {
  const found = new Map((await allNotes(server)).map((note) => [note.id, note]));
  for (const note of expected) {
    assert.deepEqual(found.get(note.id), note, `acknowledged note ${note.id} is there, unchanged`);
  }
}

describe('notes: MariaDB down at start, then back', () => {
  for (const backend of ['native', 'fastify', 'express'] as const) {
    it(`${backend}: starts, reports the database down, answers 503, then serves the notes with no restart`, async (t) => {
      if (!skipUnless(t, backend) || !requireMariaDb(t)) return;
      const db = await sharedMariaDb();
      await db.stop();
      const server = await fixtures.serve(backend, { DATABASE_URL: db.tcpUrl });
      const down = await health(server);
      assert.deepEqual([down.status, down.checks], ['degraded', { database: 'down' }]);
      expectUnavailable(server, await server.call(postNote('a', 'b')), NO_ANSWER);
      expectUnavailable(server, await server.call({ path: '/notes' }), NO_ANSWER);
      expectUnavailable(server, await server.call({ path: '/notes/1' }), NO_ANSWER);
      // Validation does not need the database.
      expectError(await server.call({ path: '/notes/0' }), 'invalid_note_id');
      assert.equal((await server.call({ path: '/hello' })).status, 200, 'the rest of the API serves');
      await assertLoggedWithoutPassword(server, /./);

      await db.start();
      const attempts = await eventually(`${backend} serves the notes again`, async () => {
        return (await server.call(postNote('back', 'again'))).status === 201;
      });
      t.diagnostic(`${backend}: the first note after the restart took ${attempts} attempt(s)`);
      const note = await created(server, 'after', 'the database came back');
      expectJson(await server.call({ path: `/notes/${note.id}` }), 200);
      const up = await health(server);
      assert.deepEqual([up.status, up.checks], ['ok', { database: 'up' }]);
      await server.stop();
      assert.equal(server.app.child.exitCode, 0, server.app.lines().join('\n'));
    });
  }
});

describe('notes: MariaDB killed under load', () => {
  for (const backend of ['native', 'fastify'] as const) {
    it(`${backend}: 503s and no other 5xx, no crash, and every acknowledged write is there afterwards`, async (t) => {
      if (!skipUnless(t, backend) || !requireMariaDb(t)) return;
      const db = await sharedMariaDb();
      const server = await fixtures.serve(backend, { DATABASE_URL: db.socketUrl });
      await created(server, 'warm');
      const acknowledged: Note[] = [];
      const statuses = new Map<number, number>();
      const unexpected: string[] = [];
      const count = (reply: Reply) => {
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status === 503) {
          expectError(reply, 'database_unavailable', NO_ANSWER);
        } else if (reply.status >= 300) {
          unexpected.push(`${reply.status} ${reply.text}`);
        }
      };
      let killed: Promise<void> | undefined;
      // 4 clients, 12 rounds each (a write, then a read of what was written); the database is
      // killed when client 0 reaches round 4, while the others are mid-flight.
      await Promise.all(
        [0, 1, 2, 3].map(async (client) => {
          for (let round = 0; round < 12; round++) {
            if (client === 0 && round === 4) killed = db.kill();
            const title = `load ${client}.${round}`;
            const reply = await server.call(postNote(title, 'x'.repeat(100)));
            count(reply);
            if (reply.status === 201) {
              const note = reply.json() as Note;
              acknowledged.push(note);
              count(await server.call({ path: `/notes/${note.id}` }));
            }
          }
        }),
      );
      await killed;
      t.diagnostic(`${backend}: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
      assert.deepEqual(unexpected, [], 'only 2xx and 503 database_unavailable');
      assert.ok((statuses.get(503) ?? 0) > 0, 'requests after the kill answered 503');
      assert.equal(server.app.child.exitCode, null, 'the app still runs');
      assert.equal((await server.call({ path: '/hello' })).status, 200);
      assert.equal((await health(server)).checks?.database, 'down');

      await db.start();
      await eventually(
        `${backend} serves the notes again`,
        async () => (await server.call({ path: '/notes' })).status === 200,
      );
      await assertAllThere(server, acknowledged);
      assert.equal((await health(server)).checks?.database, 'up');
      assert.ok(
        !server.app.lines().some((line) => /panic|uncaught|unhandled/i.test(line)),
        server.app.lines().join('\n'),
      );
      await assertLoggedWithoutPassword(server, /./);
      await server.stop();
    });
  }
});

describe('notes: SQLite on a read-only or full data directory', () => {
  for (const backend of ['native', 'fastify'] as const) {
    it(`${backend}: read-only at start, then writable: 503 not writable, a log line, then the notes with no restart`, async (t) => {
      if (!skipUnless(t, backend) || !requireMounts(t)) return;
      const mount = fixtures.mountTmpfs('4m');
      const file = path.join(mount, 'data', 'app.db');
      const env = { DATABASE_URL: `sqlite:${file}` };
      remount(mount, 'ro');
      let server = await fixtures.serve(backend, env);
      expectUnavailable(server, await server.call(postNote('a', 'b')), NOT_WRITABLE);
      expectUnavailable(server, await server.call({ path: '/notes' }), NOT_WRITABLE);
      assert.equal((await health(server)).checks?.database, 'down');
      await assertLoggedWithoutPassword(server, /read-only|EROFS|readonly/i);

      remount(mount, 'rw');
      await eventually(`${backend} writes once the directory is writable`, async () => {
        return (await server.call(postNote('first', 'b'))).status === 201;
      });
      const notes = [await created(server, 'one'), await created(server, 'two'), await created(server, 'three')];
      await server.stop();

      // An existing database on a read-only file system: never a 500, writes refused as not writable.
      remount(mount, 'ro');
      server = await fixtures.serve(backend, env);
      expectUnavailable(server, await server.call(postNote('a', 'b')), NOT_WRITABLE);
      const listed = await server.call({ path: '/notes' });
      if (listed.status !== 200) expectUnavailable(server, listed, NOT_WRITABLE);
      await server.stop();

      remount(mount, 'rw');
      server = await fixtures.serve(backend, env);
      await assertAllThere(server, notes);
      await server.stop();
      assert.equal(sqliteIntegrity(file), 'ok');
    });

    it(`${backend}: a full file system: 503 not writable, a log line, nothing lost, writes again once there is room`, async (t) => {
      if (!skipUnless(t, backend) || !requireMounts(t)) return;
      const mount = fixtures.mountTmpfs('2m');
      const file = path.join(mount, 'data', 'app.db');
      const server = await fixtures.serve(backend, { DATABASE_URL: `sqlite:${file}` });
      const acknowledged = [await created(server, 'before the disk fills')];
      // Fill what is left.
      const filler = path.join(mount, 'filler');
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (let i = 0; i < 1024; i++) writeSync(fd, chunk);
        assert.fail('the 2 MiB file system never filled');
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC', String(error));
      } finally {
        closeSync(fd);
      }
      // Bounded: the pages SQLite still has free fill up within a few notes of 10 000 characters.
      let refused: Reply | undefined;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        const reply = await server.call(postNote(`full ${i}`, 'y'.repeat(10_000)));
        if (reply.status === 201) acknowledged.push(reply.json() as Note);
        else refused = reply;
      }
      assert.ok(refused, 'a write is refused once the file system is full');
      expectUnavailable(server, refused, NOT_WRITABLE);
      assert.equal(server.app.child.exitCode, null, 'the app still runs');
      await assertLoggedWithoutPassword(server, /full|ENOSPC|disk|I\/O/i);
      expectJson(await server.call({ path: `/notes/${acknowledged[0]?.id}` }), 200);

      rmSync(filler);
      await eventually(`${backend} writes again once there is room`, async () => {
        const reply = await server.call(postNote('room again', 'z'));
        if (reply.status === 201) acknowledged.push(reply.json() as Note);
        return reply.status === 201;
      });
      await assertAllThere(server, acknowledged);
      await server.stop();
      assert.equal(sqliteIntegrity(file), 'ok');
    });
  }
});
