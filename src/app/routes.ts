// Your routes. To add one: write its handler (a file in src/app/, say items.ts) and add a line
// below; do the same on the native side (native/src/app/mod.rs), so both backends serve the
// same API. Paths are written as axum writes them, relative to the base path: `/items/{id}`
// (one whole segment), `/files/{*rest}` (the rest of the path). `GET /health` is always there
// (src/api/health.ts).
import type { Route } from '../api';
import { exampleRoutes } from '../examples'; // [examples]
// Your handler files, one import each: import { itemGet } from './items';

/** Every route of yours, built once per server (state created here is per server). */
export function routes(): Route[] {
  return [
    // Your routes, one line each: { path: '/items/{id}', methods: { GET: itemGet } },
    ...exampleRoutes(), // [examples]
  ];
}
