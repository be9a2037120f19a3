// Doctor's `database` check (the notes example's DATABASE_URL) against a real MariaDB
// (test/helpers/mariadb.ts), doctor run as a cPanel-style account's user (test/doctor/support.ts):
// it connects over TCP and over the socket; it names an unreachable server, a wrong password and
// MySQL on `localhost` refused over TCP while the server's socket (named in ~/.my.cnf, as on
// cPanel's /etc/my.cnf) answers, each with its fix.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { accountUnavailable, type InstalledApp, installApp, runDoctor } from '../doctor/support';
import { type MariaDbInstance, mariaDbUnavailable, startMariaDb } from '../helpers/mariadb';
import { freePort, unlessMissing } from '../helpers/util';

describe('doctor: DATABASE_URL (notes example)', {
  skip: accountUnavailable() ?? unlessMissing(mariaDbUnavailable()),
}, () => {
  let db: MariaDbInstance | undefined;
  let app: InstalledApp | undefined;

  before(async () => {
    db = await startMariaDb();
    // The account's user must reach the socket in the server's folder, as any account reaches
    // /var/lib/mysql/mysql.sock.
    chmodSync(db.dir, 0o711);
  });
  after(async () => {
    await db?.remove();
  });
  afterEach(() => {
    app?.remove();
    app = undefined;
  });

  function setUp(t: TestContext): { app: InstalledApp; db: MariaDbInstance } | undefined {
    const why = accountUnavailable();
    if (why !== undefined) {
      t.skip(why);
      return undefined;
    }
    if (!db) {
      t.skip('no MariaDB here (see above)');
      return undefined;
    }
    app = installApp();
    return { app, db };
  }

  it('connects over TCP and over the Unix socket', (t) => {
    const s = setUp(t);
    if (!s) return;
    const tcp = runDoctor(s.app, { env: { DATABASE_URL: s.db.tcpUrl } }).check('database');
    assert.equal(tcp.status, 'ok', tcp.message);
    assert.match(
      tcp.message,
      /^mysql:\/\/cpuser_app:\*\*\*@127\.0\.0\.1:\d+\/cpuser_app connects over TCP 127\.0\.0\.1:\d+ \(server .*MariaDB/,
    );
    const socket = runDoctor(s.app, { env: { DATABASE_URL: s.db.socketUrl } }).check('database');
    assert.equal(socket.status, 'ok', socket.message);
    assert.match(socket.message, /connects over the socket \/.*\(server /);
    assert.doesNotMatch(`${tcp.message}${socket.message}`, /p@ss/, 'the password is never shown');
  });

  it('fails an unreachable server and a wrong password, with the fix', async (t) => {
    const s = setUp(t);
    if (!s) return;
    const url = new URL(s.db.tcpUrl);
    url.port = String(await freePort());
    const down = runDoctor(s.app, { env: { DATABASE_URL: url.href } });
    assert.equal(down.status, 1);
    const check = down.check('database');
    assert.equal(check.status, 'fail');
    assert.match(check.message, /over TCP 127\.0\.0\.1:\d+: the server does not answer \(.*ECONNREFUSED/);
    assert.match(check.fix ?? '', /check the host and port .*and that the server runs/);

    const wrong = new URL(s.db.tcpUrl);
    wrong.password = 'not-the-password';
    const denied = runDoctor(s.app, { env: { DATABASE_URL: wrong.href } }).check('database');
    assert.equal(denied.status, 'fail');
    assert.match(denied.message, /Access denied for user 'cpuser_app'/);
    assert.match(denied.fix ?? '', /check the user and password in DATABASE_URL .*account prefix/);
  });

  it('names MySQL on localhost refused over TCP while its socket answers', async (t) => {
    const s = setUp(t);
    if (!s) return;
    // Nothing listens on that port of localhost; the client configuration names the socket.
    writeFileSync(`${s.app.home}/.my.cnf`, `[client]\nsocket=${s.db.socketPath}\n`);
    s.app.chown();
    const url = new URL(s.db.tcpUrl);
    url.hostname = 'localhost';
    url.port = String(await freePort());
    const run = runDoctor(s.app, { env: { DATABASE_URL: url.href } });
    assert.equal(run.status, 1);
    const check = run.check('database');
    assert.equal(check.status, 'fail');
    assert.match(
      check.message,
      new RegExp(
        `@localhost:\\d+/cpuser_app over TCP localhost:\\d+: .*ECONNREFUSED.*; the server's Unix socket ${s.db.socketPath.replace(/[.]/g, '\\.')} answers \\(server `,
      ),
    );
    assert.match(
      check.fix ?? '',
      new RegExp(
        `set DATABASE_URL to mysql://cpuser_app:\\*\\*\\*@localhost:\\d+/cpuser_app\\?socket=${s.db.socketPath.replace(/[.]/g, '\\.')} `,
      ),
    );
  });
});
