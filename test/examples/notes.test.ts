// The notes example (`/notes`) on real databases, through the real app (`node app.js` processes):
// the contract on native, fastify and express, on SQLite and on a throwaway MariaDB over TCP and
// over its Unix socket (cPanel's `?socket=`); the same bytes from every backend; a note written by
// one backend read by another, same file or database; SQL-injection strings kept as data; the
// fallback on Node 20 (no node:sqlite) answering 503 with the reason and serving the rest;
// DATABASE_URL refused at start with its password masked; `node app.js` in a fresh copy creating
// data/app.db and keeping the notes across a restart.
//
// The fallback needs node:sqlite (Node.js 22.13+) for SQLite: those servers run under Node 22 from
// the npm registry (test/helpers/node-versions.ts), whatever Node runs the tests.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ErrorCode } from '../../src/api/errors';
import type { BackendName } from '../../src/api/types';
import { expectMethodsNotAllowed } from '../contract/suite';
import { REPO_ROOT, startApp } from '../helpers/app-process';
import { ALL_BACKENDS, backendUnavailable, TEST_ENV } from '../helpers/backends';
import { catalogueEntry, expectError, expectJson } from '../helpers/expect';
import type { Reply, RequestOptions } from '../helpers/http';
import { ensureMariaDb, type MariaDbInstance, startMariaDb } from '../helpers/mariadb';
import { obtainNode } from '../helpers/node-versions';
import { Fixtures, JSON_HEADERS, type Note, nodeFor, type Served } from './notes-servers';

const BODY_LIMIT = Number(TEST_ENV.HANDOFF_BODY_LIMIT);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NODE_TOO_OLD =
  'SQLite needs Node.js 22.13 or newer for the fallback server; use Node.js 22+ or set DATABASE_URL to a MySQL database.';

/** Strings that would break a query built by pasting values in; kept and returned as data. */
const INJECTIONS = [
  "'); DROP TABLE notes; --",
  "' OR '1'='1",
  '" OR ""="',
  '1; DELETE FROM notes WHERE 1=1; --',
  "Robert'); DROP TABLE schema_migrations;--",
  '\\',
  "\\'",
  '%_%',
  '`notes`',
  '$1 ? :id @x',
  'a\u0000b',
  '\u2028\u2029 😀 é',
];

const fixtures = new Fixtures();
after(() => fixtures.cleanUp());
const scratch = () => fixtures.scratch();
const serve = (
  backend: BackendName,
  env: Readonly<Record<string, string>>,
  command?: readonly string[],
  root?: string,
) => fixtures.serve(backend, env, { command, ...(root === undefined ? {} : { root }) });

const json = JSON_HEADERS;
const post = (title: unknown, body: unknown): RequestOptions => ({
  method: 'POST',
  path: '/notes',
  headers: json,
  body: JSON.stringify({ title, body }),
});
const put = (id: number | string, title: unknown, body: unknown): RequestOptions => ({
  method: 'PUT',
  path: `/notes/${id}`,
  headers: json,
  body: JSON.stringify({ title, body }),
});

/** Asserts a 201 for a new note of `title` and `body` and returns it. */
function expectCreated(reply: Reply, title: string, body: string, window: [number, number]): Note {
  const note = expectJson(reply, 201) as Note;
  assert.deepEqual(Object.keys(note), ['id', 'title', 'body', 'createdAt', 'updatedAt']);
  assert.ok(Number.isSafeInteger(note.id) && note.id > 0, `id ${note.id}`);
  assert.equal(reply.headers.location, `/notes/${note.id}`);
  assert.equal(note.title, title);
  assert.equal(note.body, body);
  assert.match(note.createdAt, ISO);
  assert.equal(note.updatedAt, note.createdAt);
  // The app's clock, read between the request's start and its answer.
  const at = Date.parse(note.createdAt);
  assert.ok(at >= window[0] - 1 && at <= window[1] + 1, `createdAt ${note.createdAt} within the request`);
  return note;
}

async function create(served: Served, title: string, body: string): Promise<Note> {
  const start = Date.now();
  const reply = await served.call(post(title, body));
  return expectCreated(reply, title, body, [start, Date.now()]);
}

/** Every note, newest first, walking the pages of `limit` (bounded). */
async function allNotes(served: Served, limit = 100): Promise<Note[]> {
  const notes: Note[] = [];
  let after: number | null = null;
  for (let page = 0; page < 1_000; page += 1) {
    const reply = await served.call({ path: `/notes?limit=${limit}${after === null ? '' : `&after=${after}`}` });
    const body = expectJson(reply, 200) as { notes: Note[]; next: number | null };
    assert.deepEqual(Object.keys(body), ['notes', 'next']);
    notes.push(...body.notes);
    if (body.next === null) return notes;
    assert.equal(body.next, body.notes.at(-1)?.id, 'next is the last id of the page');
    after = body.next;
  }
  throw new Error('more than 1000 pages');
}

/** The contract of `/notes` on one server; its database may hold notes of other tests. */
function defineNotesContract(server: () => Served): void {
  const expectErr = (reply: Reply, code: ErrorCode, params: Record<string, string | number> = {}) =>
    expectError(reply, code, params, catalogueEntry(code).close === true ? { connection: 'close' } : {});

  it('POST /notes stores a note: 201, its location, the note; GET /notes/{id} reads the same bytes', async () => {
    const served = server();
    const start = Date.now();
    const created = await served.call(post('First note', 'Its body.'));
    const note = expectCreated(created, 'First note', 'Its body.', [start, Date.now()]);
    const read = await served.call({ path: `/notes/${note.id}` });
    expectJson(read, 200);
    assert.equal(read.text, created.text);
    const head = await served.call({ method: 'HEAD', path: `/notes/${note.id}` });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('keeps titles and bodies exactly: Unicode, NUL, spaces, SQL-injection strings as data', async () => {
    const served = server();
    const cases: [string, string][] = [
      ...INJECTIONS.map((text): [string, string] => [text, text]),
      ['  padded  ', '\n\tindented\r\n'],
      ['😀'.repeat(200), '😀'.repeat(10_000)],
      ['x', ''],
    ];
    for (const [title, body] of cases) {
      const note = await create(served, title, body);
      const read = expectJson(await served.call({ path: `/notes/${note.id}` }), 200) as Note;
      assert.deepEqual([read.title, read.body], [title, body], JSON.stringify(title).slice(0, 60));
    }
    // The table is still there and whole.
    const notes = await allNotes(served);
    for (const text of INJECTIONS)
      assert.ok(
        notes.some((note) => note.title === text),
        JSON.stringify(text),
      );
  });

  it('PUT /notes/{id} replaces the title and body, keeps createdAt; DELETE answers 204, then 404', async () => {
    const served = server();
    const note = await create(served, 'before', 'old body');
    const start = Date.now();
    const updated = expectJson(await served.call(put(note.id, 'after', 'new body')), 200) as Note;
    assert.deepEqual(Object.keys(updated), ['id', 'title', 'body', 'createdAt', 'updatedAt']);
    assert.deepEqual(
      [updated.id, updated.title, updated.body, updated.createdAt],
      [note.id, 'after', 'new body', note.createdAt],
    );
    assert.match(updated.updatedAt, ISO);
    assert.ok(Date.parse(updated.updatedAt) >= start - 1 && Date.parse(updated.updatedAt) <= Date.now() + 1);
    // The same values again: still 200 (MySQL counts no changed row).
    const again = expectJson(await served.call(put(note.id, 'after', 'new body')), 200) as Note;
    assert.deepEqual([again.title, again.body], ['after', 'new body']);
    assert.deepEqual(expectJson(await served.call({ path: `/notes/${note.id}` }), 200), again);

    const deleted = await served.call({ method: 'DELETE', path: `/notes/${note.id}` });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body.length, 0);
    assert.equal(deleted.headers['content-type'], undefined);
    assert.equal(deleted.headers['content-length'], undefined);
    assert.equal(deleted.headers['cache-control'], 'no-store');
    expectErr(await served.call({ path: `/notes/${note.id}` }), 'note_not_found');
    expectErr(await served.call({ method: 'DELETE', path: `/notes/${note.id}` }), 'note_not_found');
    expectErr(await served.call(put(note.id, 'a', 'b')), 'note_not_found');
    expectErr(await served.call({ path: '/notes/9007199254740991' }), 'note_not_found');
  });

  it('refuses an id that is not a canonical positive integer up to 2^53 − 1 with 400 invalid_note_id', async () => {
    const served = server();
    for (const id of [
      '0',
      '01',
      '-1',
      '+1',
      '1.0',
      '1e3',
      'abc',
      '%20',
      '9007199254740992',
      '99999999999999999999',
      '%EF%BC%91',
    ]) {
      for (const method of ['GET', 'DELETE']) {
        expectErr(await served.call({ method, path: `/notes/${id}` }), 'invalid_note_id');
      }
      // The id is checked before the body.
      expectErr(
        await served.call({ method: 'PUT', path: `/notes/${id}`, headers: json, body: '[' }),
        'invalid_note_id',
      );
    }
  });

  it('validates the body in order: 415, 413, invalid_json, invalid_body, invalid_note_title, invalid_note_body', async () => {
    const served = server();
    const send = (body: string, headers: Record<string, string> = json) =>
      served.call({ method: 'POST', path: '/notes', headers, body });
    expectErr(await send('{"title":"a","body":"b"}', { 'content-type': 'text/plain' }), 'unsupported_media_type');
    expectErr(await send('{"title":"a","body":"b"}', {}), 'unsupported_media_type');
    expectErr(await send(`{"title":"a","body":"${'x'.repeat(BODY_LIMIT)}"}`), 'payload_too_large', {
      limit: BODY_LIMIT,
    });
    for (const text of ['', '{', '{"title":"a","body":"b"', 'nul', "{'title':'a'}"]) {
      expectErr(await send(text), 'invalid_json');
    }
    const shapes = [
      '[]',
      '["a","b"]',
      'null',
      '"a"',
      '1',
      '{}',
      '{"title":"a"}',
      '{"body":"b"}',
      '{"title":"a","body":"b","extra":1}',
      '{"title":"a","body":null}',
      '{"title":null,"body":"b"}',
      '{"title":1,"body":"b"}',
      '{"title":"a","body":["b"]}',
      '{"title":{"x":1},"body":"b"}',
      '{"Title":"a","body":"b"}',
      '{"title":"a","__proto__":"b"}',
    ];
    for (const text of shapes) expectErr(await send(text), 'invalid_body');
    for (const title of ['', 'x'.repeat(201), '😀'.repeat(201)]) {
      expectErr(await served.call(post(title, 'b')), 'invalid_note_title');
      expectErr(await served.call(post(title, 'x'.repeat(10_001))), 'invalid_note_title');
    }
    expectErr(await served.call(post('a', 'x'.repeat(10_001))), 'invalid_note_body');
    expectErr(await served.call(post('a', '😀'.repeat(10_001))), 'invalid_note_body');
    // PUT: the same checks, after the id.
    const note = await create(served, 'valid', 'valid');
    expectErr(
      await served.call({ method: 'PUT', path: `/notes/${note.id}`, headers: json, body: '[]' }),
      'invalid_body',
    );
    expectErr(await served.call(put(note.id, '', 'b')), 'invalid_note_title');
    expectErr(await served.call(put(note.id, 'a', 'x'.repeat(10_001))), 'invalid_note_body');
    // A body for a missing note is still checked first.
    expectErr(await served.call(put(9_007_199_254_740_991, '', 'b')), 'invalid_note_title');
    // Nothing of that was stored, and the note is as it was.
    assert.deepEqual(expectJson(await served.call({ path: `/notes/${note.id}` }), 200), note);
  });

  it('GET /notes pages newest first with limit and after; next is the last id of a full page', async () => {
    const served = server();
    const made: Note[] = [];
    for (let i = 0; i < 21; i += 1) made.push(await create(served, `page ${i}`, `${i}`));
    const ids = made.map((note) => note.id);
    const newest = ids.at(-1) ?? 0;
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'ids grow',
    );
    const page = async (query: string) =>
      expectJson(await served.call({ path: `/notes${query}` }), 200) as { notes: Note[]; next: number | null };

    // Nothing newer than these 21 exists yet, so the first pages are exactly theirs.
    const first = await page('');
    assert.equal(first.notes.length, 20, 'default limit 20');
    assert.deepEqual(
      first.notes.map((note) => note.id),
      ids.slice(1).reverse(),
    );
    assert.equal(first.next, ids[1]);
    assert.deepEqual(first.notes[0], made.at(-1));

    const two = await page(`?limit=2&after=${newest + 1}`);
    assert.deepEqual(
      two.notes.map((note) => note.id),
      [ids[20], ids[19]],
    );
    assert.equal(two.next, ids[19]);
    const next = await page(`?limit=2&after=${two.next}`);
    assert.deepEqual(
      next.notes.map((note) => note.id),
      [ids[18], ids[17]],
    );
    // The first of a repeated parameter counts; unknown ones are ignored.
    const repeated = await page(`?limit=1&limit=500&after=${newest}&after=1&sort=asc&x`);
    assert.deepEqual(
      repeated.notes.map((note) => note.id),
      [ids[19]],
    );
    // after=1: nothing is older than the first id.
    assert.deepEqual(await page('?after=1'), { notes: [], next: null });
    // Walking every page of 7 gives every note once, newest first, and ends with next null.
    const walked = await allNotes(served, 7);
    const walkedIds = walked.map((note) => note.id);
    assert.deepEqual(
      walkedIds,
      [...new Set(walkedIds)].sort((a, b) => b - a),
    );
    for (const id of ids) assert.ok(walkedIds.includes(id), `note ${id} listed`);
    const oldest = walkedIds.at(-1) ?? 1;
    assert.deepEqual(await page(`?limit=100&after=${oldest}`), { notes: [], next: null });
    // A page exactly as long as what is left: next is null.
    const fourth = walkedIds.at(-4);
    assert.ok(fourth !== undefined, 'at least 4 notes');
    const exact = await page(`?limit=3&after=${fourth}`);
    assert.deepEqual(
      exact.notes.map((note) => note.id),
      walkedIds.slice(-3),
    );
    assert.equal(exact.next, null);
  });

  it('refuses a limit or after that is not a canonical positive integer (limit at most 100) with 400 invalid_query', async () => {
    const served = server();
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=01',
      'limit=-1',
      'limit=1.5',
      'limit=',
      'limit',
      'limit=abc',
      'limit=%31%30%31',
      'limit=+5',
      'after=0',
      'after=9007199254740992',
      'after=1e3',
      'after=',
      'after=x',
      'limit=5&after=-2',
    ]) {
      expectErr(await served.call({ path: `/notes?${query}` }), 'invalid_query');
    }
    assert.equal(
      (expectJson(await served.call({ path: '/notes?limit=100&after=9007199254740991' }), 200) as { notes: Note[] })
        .notes.length <= 100,
      true,
    );
  });

  it('answers other methods with 405 and the Allow header', async () => {
    const served = server();
    await expectMethodsNotAllowed(served.call, [
      ['PATCH', '/notes', 'GET,HEAD,POST'],
      ['DELETE', '/notes', 'GET,HEAD,POST'],
      ['POST', '/notes/1', 'GET,HEAD,PUT,DELETE'],
      ['PATCH', '/notes/1', 'GET,HEAD,PUT,DELETE'],
    ]);
  });

  it('GET /health reports the database up', async () => {
    const served = server();
    const health = expectJson(await served.call({ path: '/health' }), 200) as Record<string, unknown>;
    assert.equal(health.status, 'ok');
    assert.deepEqual(health.checks, { database: 'up' });
    assert.equal(health.backend, served.backend);
  });
}

/** Requests whose answers do not depend on the clock: every backend must answer them alike. */
function parityRequests(existing: number): RequestOptions[] {
  return [
    { path: `/notes/${existing}` },
    { method: 'HEAD', path: `/notes/${existing}` },
    { path: `/notes?limit=2&after=${existing + 1}` },
    { path: '/notes?after=1' },
    { path: '/notes/9007199254740991' },
    { method: 'DELETE', path: '/notes/9007199254740991' },
    { path: '/notes/0' },
    { path: '/notes/abc' },
    { path: '/notes?limit=0' },
    { path: '/notes?limit=101' },
    { path: '/notes?after=x' },
    { method: 'PATCH', path: '/notes' },
    { method: 'POST', path: '/notes/1' },
    { method: 'POST', path: '/notes', headers: { 'content-type': 'text/plain' }, body: '{}' },
    { method: 'POST', path: '/notes', headers: json, body: '{' },
    { method: 'POST', path: '/notes', headers: json, body: '["a","b"]' },
    { method: 'POST', path: '/notes', headers: json, body: '{"title":"a","body":"b","c":1}' },
    { method: 'POST', path: '/notes', headers: json, body: '{"title":"","body":"b"}' },
    { method: 'POST', path: '/notes', headers: json, body: JSON.stringify({ title: 'a', body: 'x'.repeat(10_001) }) },
    { method: 'PUT', path: '/notes/00', headers: json, body: '[' },
    { method: 'PUT', path: '/notes/9007199254740991', headers: json, body: '{"title":"a","body":"b"}' },
    { method: 'PUT', path: `/notes/${existing}`, headers: json, body: '{"title":"a"}' },
  ];
}

/** What must be the same from every backend: status, headers that matter, body bytes. */
function visible(reply: Reply) {
  return {
    status: reply.status,
    contentType: reply.headers['content-type'],
    contentLength: reply.headers['content-length'],
    cacheControl: reply.headers['cache-control'],
    allow: reply.headers.allow,
    location: reply.headers.location,
    connection: reply.headers.connection === 'close' ? 'close' : 'keep-alive',
    body: reply.text,
  };
}

/** Parity and cross-backend tests over `servers`, which share one database. */
function defineSharedTests(servers: () => Map<BackendName, Served>): void {
  it('every backend answers the same bytes (status, headers, body)', async (t) => {
    const all = [...servers().values()];
    if (all.length < 2) return t.skip('needs two backends at least');
    const [writer] = all;
    assert.ok(writer);
    const note = await create(writer, 'parity', 'same bytes everywhere');
    for (const request of parityRequests(note.id)) {
      const answers = await Promise.all(
        all.map(async (served) => [served.backend, visible(await served.call(request))] as const),
      );
      const [first, ...rest] = answers;
      assert.ok(first);
      for (const [backend, answer] of rest) {
        assert.deepEqual(
          answer,
          first[1],
          `${request.method ?? 'GET'} ${request.path}: ${backend} differs from ${first[0]}`,
        );
      }
    }
  });

  it('a note written by one backend is read, updated and deleted by the others', async (t) => {
    const all = [...servers().values()];
    if (all.length < 2) return t.skip('needs two backends at least');
    for (const writer of all) {
      const start = Date.now();
      const created = await writer.call(post(`from ${writer.backend}`, "it's 'quoted'"));
      const note = expectCreated(created, `from ${writer.backend}`, "it's 'quoted'", [start, Date.now()]);
      for (const reader of all) {
        const read = await reader.call({ path: `/notes/${note.id}` });
        assert.equal(read.status, 200, `${reader.backend} reads what ${writer.backend} wrote`);
        assert.equal(read.text, created.text, `${reader.backend} reads the bytes ${writer.backend} answered`);
      }
      const others = all.filter((served) => served !== writer);
      const updater = others[0];
      const deleter = others.at(-1);
      assert.ok(updater && deleter);
      const updated = await updater.call(put(note.id, `updated by ${updater.backend}`, 'x'));
      assert.equal(updated.status, 200);
      const seen = await writer.call({ path: `/notes/${note.id}` });
      assert.equal(seen.text, updated.text, `${writer.backend} sees ${updater.backend}'s update`);
      assert.equal((await deleter.call({ method: 'DELETE', path: `/notes/${note.id}` })).status, 204);
      for (const reader of all) assert.equal((await reader.call({ path: `/notes/${note.id}` })).status, 404);
    }
  });

  it('lists the same page from every backend', async (t) => {
    const all = [...servers().values()];
    if (all.length < 2) return t.skip('needs two backends at least');
    const texts = await Promise.all(all.map(async (served) => (await served.call({ path: '/notes?limit=50' })).text));
    for (const text of texts) assert.equal(text, texts[0]);
  });
}

/** Starts every available backend on `databaseUrl`; the map fills in `before`. */
function useServers(databaseUrl: () => string | undefined): Map<BackendName, Served> {
  const servers = new Map<BackendName, Served>();
  before(async () => {
    const url = databaseUrl();
    if (url === undefined) return;
    for (const backend of ALL_BACKENDS) {
      if (backendUnavailable(backend) !== undefined) continue;
      servers.set(backend, await serve(backend, { DATABASE_URL: url }));
    }
  });
  after(async () => {
    for (const served of servers.values()) await served.stop();
  });
  return servers;
}

function defineOnDatabase(title: string, databaseUrl: () => string | undefined, extra?: () => void) {
  describe(title, () => {
    const servers = useServers(databaseUrl);
    for (const backend of ALL_BACKENDS) {
      describe(backend, { skip: backendUnavailable(backend) ?? false }, () => {
        defineNotesContract(() => {
          const served = servers.get(backend);
          if (served === undefined) throw new Error(`${backend} is not running here: ${backendUnavailable(backend)}`);
          return served;
        });
      });
    }
    describe('across backends', () => defineSharedTests(() => servers));
    extra?.();
  });
}

describe('notes on SQLite (one file, every backend)', () => {
  const dir = scratch();
  const file = path.join(dir, 'data', 'notes.db');
  defineOnDatabase(
    'data/notes.db, its folder created on first use',
    () => `sqlite:${file}`,
    () => {
      it('is one file in WAL mode (a -wal file next to it while the servers run)', () => {
        assert.ok(existsSync(file));
        assert.ok(existsSync(`${file}-wal`), 'WAL mode');
      });
    },
  );
});

const mariadb = ensureMariaDb();
if (!mariadb.ok && process.env.CI === 'true') throw new Error(mariadb.reason);

describe('notes on MariaDB', { skip: mariadb.ok ? false : mariadb.reason }, () => {
  let db: MariaDbInstance | undefined;
  before(async () => {
    db = await startMariaDb();
  });
  after(async () => {
    await db?.remove();
  });
  defineOnDatabase('over TCP (127.0.0.1 and a port)', () => db?.tcpUrl);
  defineOnDatabase('over the Unix socket (?socket=, as on cPanel)', () => db?.socketUrl);

  it('recorded each migration once in schema_migrations, the notes table in utf8mb4', async () => {
    assert.ok(db);
    const migrations = await db.query(`SELECT version, name FROM ${db.database}.schema_migrations`);
    assert.equal(migrations.trim(), '1\tcreate_notes');
    const charset = await db.query(
      `SELECT CCSA.character_set_name FROM information_schema.TABLES T JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY CCSA ON CCSA.collation_name = T.table_collation WHERE T.table_schema = '${db.database}' AND T.table_name = 'notes'`,
    );
    assert.equal(charset.trim(), 'utf8mb4');
  });
});

describe('the fallback on Node 20 with SQLite (no node:sqlite)', () => {
  it('answers the notes with 503 database_unavailable naming the fix; /health is degraded; the rest serves', async (t) => {
    const node20 = obtainNode(20);
    if (!node20.ok) return t.skip(node20.reason);
    const dir = scratch();
    for (const backend of ['fastify', 'express'] as const) {
      const served = await serve(backend, { DATABASE_URL: `sqlite:${path.join(dir, 'n.db')}` }, node20.command);
      const reason = { reason: NODE_TOO_OLD };
      expectError(await served.call(post('a', 'b')), 'database_unavailable', reason);
      expectError(await served.call({ path: '/notes' }), 'database_unavailable', reason);
      expectError(await served.call({ path: '/notes/1' }), 'database_unavailable', reason);
      // Validation still comes first.
      expectError(await served.call({ path: '/notes/0' }), 'invalid_note_id');
      expectError(await served.call(post('', 'b')), 'invalid_note_title');
      const health = expectJson(await served.call({ path: '/health' }), 200) as Record<string, unknown>;
      assert.equal(health.status, 'degraded');
      assert.deepEqual(health.checks, { database: 'down' });
      assert.deepEqual(expectJson(await served.call({ path: '/hello?name=Ann' }), 200), { message: 'Hello, Ann!' });
      assert.ok(
        served.app.lines().some((line) => /^\[notes\] node:sqlite is not available in Node\.js 20\./.test(line)),
        served.app.lines().join('\n'),
      );
      assert.ok(!existsSync(path.join(dir, 'n.db')), 'no file was made');
      await served.stop();
    }
  });
});

describe('the fallback on SQLite under newer Nodes (node:sqlite changes between releases)', () => {
  for (const major of [24, 26]) {
    it(`Node ${major}: stores and reads back a note, NUL and all; /health up`, async (t) => {
      const node = obtainNode(major);
      if (!node.ok) return t.skip(node.reason);
      const dir = scratch();
      const served = await serve('fastify', { DATABASE_URL: `sqlite:${path.join(dir, 'n.db')}` }, node.command);
      const note = await create(served, 'a\u0000b é', '');
      const read = await served.call({ path: `/notes/${note.id}` });
      assert.deepEqual(expectJson(read, 200), note);
      assert.deepEqual((expectJson(await served.call({ path: '/health' }), 200) as { checks: unknown }).checks, {
        database: 'up',
      });
      assert.ok(!served.app.lines().some((line) => /ExperimentalWarning/.test(line)), served.app.lines().join('\n'));
      await served.stop();
    });
  }
});

describe('DATABASE_URL', () => {
  it('refuses an unusable value at start, naming DATABASE_URL, the password masked', async () => {
    for (const backend of ['fastify', 'native'] as const) {
      if (backendUnavailable(backend) !== undefined) continue;
      for (const url of [
        'postgres://cpuser_app:hunter2secret@localhost/cpuser_app',
        'mysql://cpuser_app:hunter2secret@localhost/',
      ]) {
        const app = fixtures.track(startApp({ HANDOFF_BACKEND: backend, DATABASE_URL: url, PORT: '0' }));
        const { code } = await app.exited;
        const output = app.lines().join('\n');
        assert.equal(code, 1, output);
        assert.match(output, /DATABASE_URL/);
        assert.match(output, /cpuser_app:\*\*\*@localhost/);
        assert.doesNotMatch(output, /hunter2secret/);
      }
    }
  });

  it('never logs the password when the database refuses the connection', {
    skip: mariadb.ok ? false : mariadb.reason,
  }, async () => {
    const db = await startMariaDb();
    try {
      const wrong = db.tcpUrl.replace(encodeURIComponent(db.password), 'wr0ng%3Apass');
      for (const backend of ALL_BACKENDS) {
        if (backendUnavailable(backend) !== undefined) continue;
        const served = await serve(backend, { DATABASE_URL: wrong });
        expectError(await served.call({ path: '/notes' }), 'database_unavailable', {
          reason: 'it did not answer; try again shortly.',
        });
        await served.stop();
        const output = served.app.lines().join('\n');
        assert.match(output, /Access denied/, 'the real cause is logged');
        assert.doesNotMatch(output, /wr0ng|n0te:p@ss/, 'no password in the log');
      }
    } finally {
      await db.remove();
    }
  });
});

describe('node app.js in a fresh copy, DATABASE_URL unset', () => {
  it('creates data/app.db under the app root and keeps the notes across a restart', async () => {
    const root = path.join(scratch(), 'app');
    mkdirSync(root);
    for (const entry of ['app.js', 'package.json', 'dist']) {
      cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
    }
    mkdirSync(path.join(root, 'native'));
    for (const addon of readdirSync(path.join(REPO_ROOT, 'native')).filter((name) => name.endsWith('.node'))) {
      cpSync(path.join(REPO_ROOT, 'native', addon), path.join(root, 'native', addon));
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
    assert.ok(!existsSync(path.join(root, 'data')));
    const backends = ALL_BACKENDS.filter((backend) => backendUnavailable(backend) === undefined);
    let written: Reply | undefined;
    for (const backend of backends) {
      const served = await serve(backend, {}, nodeFor(backend, 'sqlite:'), root);
      if (written === undefined) {
        written = await served.call(post('survives a restart', 'kept in data/app.db'));
        assert.equal(written.status, 201, written.text);
        assert.ok(existsSync(path.join(root, 'data', 'app.db')), 'data/app.db was created');
      }
      const id = (JSON.parse(written.text) as Note).id;
      const read = await served.call({ path: `/notes/${id}` });
      assert.equal(read.text, written.text, `${backend}, started afresh, reads the note`);
      await served.stop();
    }
  });
});
