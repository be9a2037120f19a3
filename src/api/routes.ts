// The fallback's routes: to add one, write a handler in handlers/ and add a line here (and the
// same route in native/src/api/mod.rs, so both backends keep serving the same API).
import { counterGet, counterPost } from './handlers/counter';
import { echoPost } from './handlers/echo';
import { hashPost } from './handlers/hash';
import { healthGet } from './handlers/health';
import { helloGet } from './handlers/hello';
import type { Handler } from './types';

/** A path and its handler per method, in the order the `Allow` header lists them. */
export interface Route {
  readonly path: string;
  readonly methods: Readonly<Partial<Record<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', Handler>>>;
}

/** Every route, relative to the base path. */
export const routes: readonly Route[] = [
  { path: '/health', methods: { GET: healthGet } },
  { path: '/hello', methods: { GET: helloGet } },
  { path: '/echo', methods: { POST: echoPost } },
  { path: '/hash', methods: { POST: hashPost } },
  { path: '/counter', methods: { GET: counterGet, POST: counterPost } },
];
