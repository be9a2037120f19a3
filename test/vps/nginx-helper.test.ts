// The nginx harness itself (test/helpers/nginx.ts): a started nginx answers, and its temporary
// folder (configuration, logs, temp files) is gone once it stops, or once a start fails.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { nginxUnavailable, startNginx } from '../helpers/nginx';
import { freePort, getStatus, unlessMissing } from '../helpers/util';

describe('the nginx test harness', { skip: unlessMissing(nginxUnavailable()) }, () => {
  it('removes its folder on stop; the error log stays readable', async () => {
    const port = await freePort();
    const nginx = await startNginx(`server { listen 127.0.0.1:${port}; return 204; }\n`, port);
    try {
      assert.equal(await getStatus(port, '/', 5_000), 204);
      assert.ok(existsSync(nginx.dir), nginx.dir);
    } finally {
      await nginx.stop();
    }
    assert.equal(existsSync(nginx.dir), false, `${nginx.dir} is left behind`);
    assert.match(nginx.errorLog(), /\[notice\]/);
  });

  it('removes its folder when nginx does not start', async () => {
    const port = await freePort();
    const failed = await startNginx(`server { listen 127.0.0.1:${port}; no_such_directive on; }\n`, port).then(
      () => assert.fail('nginx started with an unknown directive'),
      (error: Error) => error,
    );
    assert.match(failed.message, /unknown directive "no_such_directive"/);
    const dir = /its folder (\S+) is removed/.exec(failed.message)?.[1];
    assert.ok(dir !== undefined, failed.message);
    assert.equal(existsSync(dir), false, `${dir} is left behind`);
  });
});
