// The fallback's route table (src/api/router.ts) matches as axum's matchit does, on route tables
// the servers do not have: static segments beside parameters and catch-alls, and the routes axum
// refuses at startup. Every match below is what matchit 0.8.4 (axum 0.8's router) answers for the
// same table. (What the servers themselves answer is in the contract and parity tests.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteTable } from '../../src/api/router';
import type { Handler, Route } from '../../src/api/types';

const handler: Handler = () => ({ status: 200, body: null });
const route = (path: string): Route => ({ path, methods: { GET: handler } });

/** The path of the route `path` matches, and its (still encoded) parameters; or undefined. */
function matched(table: RouteTable, path: string): [string, Record<string, string>] | undefined {
  const match = table.match(path);
  return match && [match.route.path, Object.fromEntries(match.params)];
}

describe('RouteTable', () => {
  const table = new RouteTable(
    ['/items/new', '/items/{id}', '/items/{id}/parts/{part}', '/files/special', '/files/{*rest}', '/', '/a:b'].map(
      route,
    ),
  );

  it('prefers a static segment to a parameter, and falls back to the parameter', () => {
    assert.deepEqual(matched(table, '/items/new'), ['/items/new', {}]);
    assert.deepEqual(matched(table, '/items/newer'), ['/items/{id}', { id: 'newer' }]);
    assert.deepEqual(matched(table, '/items/ne'), ['/items/{id}', { id: 'ne' }]);
    assert.deepEqual(matched(table, '/items/new/parts/1'), ['/items/{id}/parts/{part}', { id: 'new', part: '1' }]);
  });

  it('prefers a static segment to a catch-all, and gives the catch-all the rest otherwise', () => {
    assert.deepEqual(matched(table, '/files/special'), ['/files/special', {}]);
    assert.deepEqual(matched(table, '/files/special/x'), ['/files/{*rest}', { rest: 'special/x' }]);
    assert.deepEqual(matched(table, '/files/a/b/'), ['/files/{*rest}', { rest: 'a/b/' }]);
    assert.deepEqual(matched(table, '/files/a//b'), ['/files/{*rest}', { rest: 'a//b' }]);
    assert.equal(matched(table, '/files/'), undefined, 'a catch-all matches one character at least');
    assert.equal(matched(table, '/files'), undefined);
  });

  it('matches the raw path: escapes are neither decoded nor allowed to match static text', () => {
    assert.deepEqual(matched(table, '/items/a%2Fb'), ['/items/{id}', { id: 'a%2Fb' }]);
    assert.deepEqual(matched(table, '/items/%zz'), ['/items/{id}', { id: '%zz' }]);
    assert.deepEqual(matched(table, '/items/%6Eew'), ['/items/{id}', { id: '%6Eew' }], 'not the static /items/new');
    assert.equal(matched(table, '/%69tems/1'), undefined);
  });

  it('an empty last parameter is no match; an empty one in the middle is', () => {
    assert.equal(matched(table, '/items/'), undefined);
    assert.equal(matched(table, '/items/1/'), undefined);
    assert.deepEqual(matched(table, '/items//parts/1'), ['/items/{id}/parts/{part}', { id: '', part: '1' }]);
    assert.equal(matched(table, '/items//parts/'), undefined);
  });

  it('has no length limit on a parameter', () => {
    const long = 'x'.repeat(5000);
    assert.deepEqual(matched(table, `/items/${long}`), ['/items/{id}', { id: long }]);
  });

  it('serves / and a static segment holding a colon', () => {
    assert.deepEqual(matched(table, '/'), ['/', {}]);
    assert.deepEqual(matched(table, '/a:b'), ['/a:b', {}]);
    assert.equal(matched(table, '/a:c'), undefined);
    assert.equal(matched(table, '*'), undefined);
    assert.equal(matched(table, ''), undefined);
  });

  it('refuses at startup, naming the route, what axum refuses', () => {
    const refused: [string[], RegExp][] = [
      [['/x', '/x'], /route "\/x" is declared twice/],
      [['/items/{id}', '/items/{key}'], /routes "\/items\/\{id\}" and "\/items\/\{key\}" match the same paths/],
      [['/f/{*rest}', '/f/{id}'], /routes "\/f\/\{\*rest\}" and "\/f\/\{id\}" conflict/],
      [['/f/{*rest}/x'], /route "\/f\/\{\*rest\}\/x": a catch-all \{\*name\} must be the last segment/],
      [['/f/{a}/{a}'], /the parameter \{a\} appears twice/],
      [['/f/x{id}'], /route "\/f\/x\{id\}": "x\{id\}" is not supported/],
      [['f'], /route "f": a path starts with \//],
    ];
    for (const [paths, message] of refused) {
      assert.throws(() => new RouteTable(paths.map(route)), message, paths.join(' + '));
    }
  });
});
