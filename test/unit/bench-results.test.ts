// `npm run bench` names its files by day and set (bench/results/<date>-<set>.json, .md, .svg): a
// second run the same day must not overwrite the first, which the README may cite.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freshBase } from '../../bench/lib/report';

const dir = mkdtempSync(path.join(tmpdir(), 'bench-results-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bench results file names', () => {
  it('take the day and set, then -2, -3… when a run of that day and set is there', () => {
    assert.equal(freshBase(dir, '2026-12-01-full'), path.join(dir, '2026-12-01-full'));
    writeFileSync(path.join(dir, '2026-12-01-full.json'), '{}');
    assert.equal(freshBase(dir, '2026-12-01-full'), path.join(dir, '2026-12-01-full-2'));
    writeFileSync(path.join(dir, '2026-12-01-full-2.json'), '{}');
    assert.equal(freshBase(dir, '2026-12-01-full'), path.join(dir, '2026-12-01-full-3'));
    // Another set of the same day is its own series.
    assert.equal(freshBase(dir, '2026-12-01-full-S8'), path.join(dir, '2026-12-01-full-S8'));
  });
});
