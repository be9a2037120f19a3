// HANDOFF_PROTOCOL as src/config.ts reads it, what the native addon is given, and its refusal
// where the host speaks HTTP to the app (LiteSpeed, through its loader's emulation).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { nativeConfig } from '../../src/backends/native';
import { ConfigError, loadConfig } from '../../src/config';
import { startUnderLsnode } from '../helpers/lsnode';

describe('HANDOFF_PROTOCOL', () => {
  it('is http by default; http or scgi, in any case', () => {
    assert.equal(loadConfig({}).protocol, 'http');
    assert.equal(loadConfig({ HANDOFF_PROTOCOL: '' }).protocol, 'http');
    assert.equal(loadConfig({ HANDOFF_PROTOCOL: 'http' }).protocol, 'http');
    assert.equal(loadConfig({ HANDOFF_PROTOCOL: 'scgi' }).protocol, 'scgi');
    assert.equal(loadConfig({ HANDOFF_PROTOCOL: ' SCGI ' }).protocol, 'scgi');
  });

  it('refuses anything else, naming the variable', () => {
    for (const value of ['fastcgi', 'uwsgi', 'https', 'scgi1']) {
      assert.throws(
        () => loadConfig({ HANDOFF_PROTOCOL: value }),
        (error: Error) =>
          error instanceof ConfigError &&
          error.message === `HANDOFF_PROTOCOL must be one of http, scgi (got ${JSON.stringify(value)}).`,
      );
    }
  });

  it('reaches the native addon as "protocol" when it is scgi (an older addon refuses the field)', () => {
    assert.equal(nativeConfig(loadConfig({ HANDOFF_PROTOCOL: 'scgi' })).protocol, 'scgi');
    assert.equal('protocol' in nativeConfig(loadConfig({})), false);
    assert.match(JSON.stringify(nativeConfig(loadConfig({ HANDOFF_PROTOCOL: 'scgi' }))), /"protocol":"scgi"/);
  });
});

describe('HANDOFF_PROTOCOL=scgi under LiteSpeed', () => {
  const app = startUnderLsnode({ HANDOFF_BACKEND: 'fastify', HANDOFF_PROTOCOL: 'scgi' });
  after(() => app.kill());

  it('is refused with one [config] line and exit 1', async () => {
    const exited = await app.exited;
    const lines = app.lines();
    assert.equal(exited.code, 1, lines.join('\n'));
    assert.ok(
      lines.includes(
        '[config] HANDOFF_PROTOCOL=scgi is refused under LiteSpeed, which speaks HTTP to the app: remove the setting.',
      ),
      lines.join('\n'),
    );
    assert.ok(!lines.some((line) => /serving with/.test(line)), lines.join('\n'));
  });
});
