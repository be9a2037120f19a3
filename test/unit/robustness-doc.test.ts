// docs/robustness.md's hostile-input table is the table the hostile tests check, row for row.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { type Answer, HOSTILE_CASES } from '../robustness/hostile-cases';

const doc = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'robustness.md'), 'utf8');

const cell = (answer: Answer | Answer[]) => (Array.isArray(answer) ? answer.join(' or ') : String(answer));

it('docs/robustness.md lists every hostile case with the answers the tests expect', () => {
  const start = doc.indexOf('| Case | native | fastify | express |');
  assert.ok(start >= 0, 'the hostile-input table is there');
  const rows = doc.slice(start).split('\n\n', 1)[0]?.split('\n').slice(2);
  const expected = HOSTILE_CASES.map(
    ({ name, expect }) => `| ${name} | ${cell(expect.native)} | ${cell(expect.fastify)} | ${cell(expect.express)} |`,
  );
  assert.deepEqual(rows, expected);
});
