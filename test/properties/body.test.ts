// Properties of the fallback's own parsing (src/api/body.ts) against an independent reference:
// `jsonDepth` against the structure JSON.parse builds.
// `isJsonContentType` and `parseJsonStrict` against native: test/examples/json-body.test.ts. // [examples]
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonDepth } from '../../src/api/body';
import { deepText, depthOf, jsonText, runs, textDepth } from './support';

describe('jsonDepth', () => {
  it('is the nesting depth of the value the text holds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        assert.equal(jsonDepth(text), depthOf(value), text);
      }),
      runs(1000),
    );
  });

  it('is the depth of generated texts, brackets and escapes inside strings and repeated keys included', () => {
    fc.assert(
      fc.property(fc.oneof(jsonText, deepText), (text) => {
        assert.equal(jsonDepth(text), textDepth(text), text);
      }),
      runs(1000),
    );
  });
});
