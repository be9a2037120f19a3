// Doctor on a healthy install served by real Apache + mod_passenger (test/helpers/apache.ts), run
// as the account's user the way a user runs it over SSH: every check passes, and --url reaches the
// running app through Apache and names the backend that answers.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ApacheInstance, requireApache, startApache } from '../helpers/apache';
import { TEST_ENV } from '../helpers/backends';
import {
  accountUnavailable,
  addonBuilt,
  DOCTOR_USER,
  type InstalledApp,
  installApp,
  notOk,
  runDoctor,
} from './support';

let app: InstalledApp | undefined;
let apache: ApacheInstance | undefined;
after(async () => {
  await apache?.stop('stop');
  app?.remove();
});

describe('doctor under Apache + mod_passenger', () => {
  it('passes on a healthy install and reaches the app through Apache', async (t) => {
    const why = accountUnavailable();
    if (why) {
      t.skip(why);
      return;
    }
    if (!requireApache(t)) return;
    app = installApp();
    apache = await startApache({
      appRoot: app.appRoot,
      baseUri: '/api',
      docRoot: app.docRoot,
      htaccess: app.htaccess,
      user: DOCTOR_USER,
      env: TEST_ENV,
    });
    const run = runDoctor(app, { args: ['--docroot', app.docRoot, '--url', `http://127.0.0.1:${apache.port}/api`] });
    assert.equal(run.status, 0, `${notOk(run)}\n${run.stderr}`);
    assert.deepEqual(
      run.checks.filter((c) => c.status === 'fail'),
      [],
    );
    const backend = addonBuilt() ? 'native' : 'fastify';
    assert.equal(run.check('url').status, 'ok', run.check('url').message);
    assert.match(run.check('url').message, new RegExp(`/api/health answered 200 from ${backend} \\(version `));
    if (addonBuilt()) {
      assert.equal(run.check('native-load').status, 'ok');
      assert.match(run.check('native-load').message, /the app serves with native/);
      assert.equal(run.check('native-glibc').status, 'ok');
    }
    assert.equal(run.check('base-uri').status, 'ok');
    assert.equal(run.check('htaccess').status, 'ok');
  });
});
