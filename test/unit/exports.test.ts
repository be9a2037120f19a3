// The public surface, snapshotted: an accidental change to what app.js or the addon exposes
// fails here (h3 test/unit/package.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import * as main from '../../src/main';
import { requireBackend } from '../helpers/backends';

describe('public exports', () => {
  it('dist/main.js, which app.js requires, exports start() only', () => {
    assert.deepEqual(Object.keys(main).sort(), ['start']);
    assert.equal(typeof main.start, 'function');
  });

  it('the native addon exports prepare, errorCatalogue, PreparedServer and NativeServer', (t) => {
    if (!requireBackend(t, 'native')) return;
    const addon = require(loadConfig({}).nativePath) as Record<string, unknown>;
    assert.deepEqual(Object.keys(addon).sort(), ['NativeServer', 'PreparedServer', 'errorCatalogue', 'prepare']);
    const methods = (name: string) =>
      Object.getOwnPropertyNames((addon[name] as { prototype: object }).prototype).sort();
    assert.deepEqual(methods('PreparedServer'), ['constructor', 'listen']);
    assert.deepEqual(methods('NativeServer'), ['address', 'close', 'closed', 'constructor', 'drain', 'port']);
  });
});
