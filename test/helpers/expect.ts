// What a client sees of a JSON answer and of a catalogued error. Expected errors come from
// src/api/errors.json, read here on its own (not through the code that serves it), so a wrong
// status, a placeholder left unfilled or a message that drifted from the file shows up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorCode } from '../../src/api/errors';
import type { Reply } from './http';

/** The content type of every JSON answer, on every backend. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** One entry of src/api/errors.json. */
export interface CatalogueEntry {
  readonly status: number;
  readonly message: string;
  readonly close?: boolean;
  readonly example?: boolean;
}

/** src/api/errors.json as committed, in file order. */
export const CATALOGUE_FILE: Readonly<Record<string, CatalogueEntry>> = JSON.parse(
  readFileSync(path.resolve(__dirname, '..', '..', 'src', 'api', 'errors.json'), 'utf8'),
);

/** The catalogue entry of `code`; throws for a code the file does not hold. */
export function catalogueEntry(code: ErrorCode): CatalogueEntry {
  const entry = CATALOGUE_FILE[code];
  if (entry === undefined) throw new Error(`${code} is not in src/api/errors.json`);
  return entry;
}

/** The message of `code` with its `{placeholders}` filled from `params`; throws when a
 * placeholder has no value or a value has no placeholder (a mistake in the test). */
export function errorMessage(code: ErrorCode, params: Readonly<Record<string, string | number>> = {}): string {
  const used = new Set<string>();
  const message = catalogueEntry(code).message.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`the message of ${code} needs {${name}}`);
    used.add(name);
    return String(value);
  });
  const unused = Object.keys(params).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`the message of ${code} has no {${unused.join('}, {')}}`);
  return message;
}

/** Asserts a JSON answer with `status`, uncacheable (`Cache-Control: no-store`, as every API
 * answer whose route does not set its own), and returns its parsed body. */
export function expectJson(reply: Reply, status: number): unknown {
  assert.equal(reply.status, status, `status (body: ${reply.text.slice(0, 300)})`);
  assert.equal(reply.headers['content-type'], JSON_TYPE);
  assert.equal(reply.headers['cache-control'], 'no-store', 'cache-control');
  return reply.json();
}

/** Asserts the catalogued error `code`: its status, `{"error":{"code","message"}}` with the
 * catalogue's message (`params` fill its placeholders), and `headers` (e.g. 405's `allow`). */
export function expectError(
  reply: Reply,
  code: ErrorCode,
  params: Readonly<Record<string, string | number>> = {},
  headers: Readonly<Record<string, string>> = {},
): void {
  const expected = { error: { code, message: errorMessage(code, params) } };
  assert.deepEqual(expectJson(reply, catalogueEntry(code).status), expected);
  for (const [name, value] of Object.entries(headers)) assert.equal(reply.headers[name], value, `${name} header`);
}
