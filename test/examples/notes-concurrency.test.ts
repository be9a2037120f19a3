// Several processes, one database, as Passenger runs them: 4 `node app.js` (2 native, 2 fastify)
// started together on one fresh SQLite file (WAL, busy timeout; the migrations applied once
// though all four start at once), then on one MariaDB, clients writing to all four at the same
// time: no request gets a 5xx (nor any other error), and every acknowledged write is there
// afterwards, the same seen from each process.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { backendUnavailable } from '../helpers/backends';
import { expectJson } from '../helpers/expect';
import { type MariaDbInstance, requireMariaDb, startMariaDb } from '../helpers/mariadb';
import { allNotes, Fixtures, type Note, postNote, type Served, sqliteIntegrity, sqliteScalar } from './notes-servers';

const PROCESSES: readonly BackendName[] = ['native', 'fastify', 'native', 'fastify'];
/** Clients per process, and writes per client. */
const CLIENTS = 3;
const WRITES = 15;

const fixtures = new Fixtures();
let mariadb: MariaDbInstance | undefined;
after(async () => {
  fixtures.cleanUp();
  await mariadb?.remove();
});

function unavailable(t: { skip(message?: string): void }): boolean {
  for (const backend of new Set(PROCESSES)) {
    const why = backendUnavailable(backend);
    if (why !== undefined) {
      t.skip(why);
      return true;
    }
  }
  return false;
}

/** Writes from CLIENTS clients on each server at once: creates, and updates every third note; then
 * checks that nothing failed and every acknowledged write is what every server reads. */
async function writeEverywhere(servers: readonly Served[], t: { diagnostic(message: string): void }): Promise<void> {
  const acknowledged = new Map<number, Note>();
  const failures: string[] = [];
  await Promise.all(
    servers.flatMap((server, s) =>
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let i = 0; i < WRITES; i++) {
          const title = `p${s} ${server.backend} c${client} #${i}`;
          const reply = await server.call(postNote(title, `written by ${server.app.child.pid}`));
          if (reply.status !== 201) {
            failures.push(`POST ${title}: ${reply.status} ${reply.text}`);
            continue;
          }
          let note = reply.json() as Note;
          if (i % 3 === 0) {
            const put = await server.call({
              method: 'PUT',
              path: `/notes/${note.id}`,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ title: `${title} (edited)`, body: note.body }),
            });
            if (put.status !== 200) failures.push(`PUT ${note.id}: ${put.status} ${put.text}`);
            else note = put.json() as Note;
          }
          assert.ok(!acknowledged.has(note.id), `id ${note.id} given twice`);
          acknowledged.set(note.id, note);
        }
      }),
    ),
  );
  assert.deepEqual(failures, [], 'every write is acknowledged: no 5xx, no error');
  assert.equal(acknowledged.size, servers.length * CLIENTS * WRITES);
  for (const server of servers) {
    const found = await allNotes(server);
    assert.equal(found.length, acknowledged.size, `${server.backend} (pid ${server.app.child.pid}) sees every note`);
    for (const note of found) assert.deepEqual(note, acknowledged.get(note.id), `note ${note.id} as acknowledged`);
    assert.ok(
      !server.app.lines().some((line) => /database unavailable|panic/i.test(line)),
      server.app.lines().join('\n'),
    );
  }
  t.diagnostic(`${acknowledged.size} notes written through ${servers.length} processes`);
}

describe('notes: 4 processes on one database', () => {
  it('SQLite: 2 native and 2 fastify processes on one file', async (t) => {
    if (unavailable(t)) return;
    const file = path.join(fixtures.scratch(), 'data', 'app.db');
    // All four start at once on a file that does not exist yet.
    const servers = await Promise.all(
      PROCESSES.map((backend) => fixtures.serve(backend, { DATABASE_URL: `sqlite:${file}` })),
    );
    for (const server of servers) {
      expectJson(await server.call({ path: '/health' }), 200);
    }
    await writeEverywhere(servers, t);
    for (const server of servers) await server.stop();
    assert.equal(sqliteIntegrity(file), 'ok');
    assert.equal(sqliteScalar(file, 'SELECT COUNT(*) FROM schema_migrations'), '1', 'the migration applied once');
  });

  it('MariaDB: 2 native and 2 fastify processes on one database', async (t) => {
    if (unavailable(t) || !requireMariaDb(t)) return;
    mariadb = await startMariaDb();
    const db = mariadb;
    const servers = await Promise.all(
      PROCESSES.map((backend, i) => fixtures.serve(backend, { DATABASE_URL: i % 2 === 0 ? db.tcpUrl : db.socketUrl })),
    );
    await writeEverywhere(servers, t);
    for (const server of servers) await server.stop();
    assert.equal(
      (await db.query(`SELECT COUNT(*) FROM \`${db.database}\`.schema_migrations`)).trim(),
      '1',
      'the migration applied once',
    );
  });
});
