// The demo routes: delete this directory (and the lines marked `// [examples]`) with
// `npm run examples:remove`. The native side has the same in native/src/examples/.
import type { Route } from '../api';
import { counterRoute } from './counter';
import { echoPost } from './echo';
import { hashPost } from './hash';
import { helloGet, helloNameGet } from './hello';
import { notesRoutes } from './notes';

/** hello, echo, hash, counter and notes, built once per server (so each has its own counter; the
 * notes' database is the server's resource, from the setup hook). */
export function exampleRoutes(): Route[] {
  return [
    { path: '/hello', methods: { GET: helloGet } },
    { path: '/hello/{name}', methods: { GET: helloNameGet } },
    { path: '/echo', methods: { POST: echoPost } },
    { path: '/hash', methods: { POST: hashPost } },
    counterRoute(),
    ...notesRoutes(),
  ];
}
