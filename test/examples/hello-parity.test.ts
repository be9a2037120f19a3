// Differential: `GET /hello?<query>` with generated queries (percent-encoded bytes of any kind,
// `+`, stray `%`, repeated and encoded keys) gets the same whole answer from native and fastify,
// and greets the name the WHATWG URL standard reads from that query (`url.searchParams`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { useBackends } from '../helpers/backends';
import { send } from '../helpers/http';
import { readCorpus, runs } from '../properties/support';

const hexByte = (byte: number, upper: boolean) => {
  const hex = byte.toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex}`;
};

/** Characters a request target carries raw in a query (RFC 3986 query characters). */
const QUERY_CHARS = [..."aemnzAZ09-._~!$'()*,;:@/?"];

/** Printable ASCII that RFC 3986 does not allow raw in a query, which clients send anyway. */
const ODD_CHARS = [...'"<>{}|\\^`[]#'];

const queryPiece: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('name') },
  { weight: 4, arbitrary: fc.constant('=') },
  { weight: 3, arbitrary: fc.constant('&') },
  { weight: 1, arbitrary: fc.constantFrom('+', '%', '%6E%61me', '%2', '%g1') },
  { weight: 5, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([b, up]) => hexByte(b, up)) },
  {
    weight: 3,
    arbitrary: fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .map((c) => [...Buffer.from(c)].map((b) => hexByte(b, true)).join('')),
  },
  { weight: 4, arbitrary: fc.constantFrom(...QUERY_CHARS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_CHARS) },
);

const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(queryPiece, { maxLength: 40 }).map((pieces) => pieces.join('')) },
  {
    // Around the 100-character limit, counted in code points.
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 95, max: 105 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
      .map(
        ([n, c]) =>
          `name=${[...Buffer.from(c)]
            .map((b) => hexByte(b, true))
            .join('')
            .repeat(n)}`,
      ),
  },
);

/** The first `name` in `query`, as the URL standard reads a request target's query. */
function nameIn(query: string): string | null {
  return new URL(`http://localhost/hello?${query}`).searchParams.get('name');
}

/** What `/hello?<query>` answers, per the README and the URL standard. */
function expectedHello(query: string): { status: number; message?: string } {
  const name = nameIn(query);
  if (name === null) return { status: 200, message: 'Hello, World!' };
  const length = [...name].length;
  if (length < 1 || length > 100) return { status: 400 };
  return { status: 200, message: `Hello, ${name}!` };
}

describe('GET /hello decodes the query the same on native and fastify', () => {
  const servers = useBackends(['native', 'fastify']);

  async function checkQuery(query: string): Promise<void> {
    const answers: Record<string, unknown> = {};
    for (const [name, server] of servers) {
      const reply = await send(server.endpoint, { path: `/hello?${query}` });
      answers[name] = { status: reply.status, contentType: reply.headers['content-type'], body: reply.text };
    }
    assert.deepEqual(answers.native, answers.fastify, `native and fastify differ on ?${query}`);
    const native = answers.native as { status: number; body: string };
    // A fragment is dropped before anything looks at the target, odd characters and all.
    if (/["<>]/.test(query.split('#', 1)[0] ?? query)) {
      // Refused before any route on every backend (the http crate's URI parser; the fallback
      // mirrors it): a bare 400, whatever the URL standard would make of the query.
      assert.deepEqual(native, { status: 400, contentType: undefined, body: '' }, `?${query}`);
      return;
    }
    const expected = expectedHello(query);
    assert.equal(native.status, expected.status, `?${query}: ${native.body}`);
    if (expected.message !== undefined) {
      assert.deepEqual(JSON.parse(native.body), { message: expected.message }, `?${query}`);
    }
  }

  it('on every query of the seed corpus, as recorded', async (t) => {
    if (servers.size === 0) return t.skip('needs native and fastify');
    for (const [query, recorded] of readCorpus('queries.jsonl')) {
      assert.equal(nameIn(String(query)), recorded, `corpus entry ?${query}`);
      await checkQuery(String(query));
    }
  });

  it('on generated queries', async (t) => {
    if (servers.size === 0) return t.skip('needs native and fastify');
    await fc.assert(fc.asyncProperty(query, checkQuery), runs(300));
  });
});
