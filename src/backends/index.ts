// Choosing the backend: HANDOFF_BACKEND, and in `auto` mode native with fastify as fallback.
import type { Config } from '../config';
import { log } from '../log';
import { loadNativeBackend } from './native';
import type { Backend } from './types';

/** Prepares the configured backend so that it can bind synchronously. `native` throws when
 * the addon cannot load; `auto` logs the cause once and uses fastify instead. */
export async function prepareBackend(config: Config): Promise<Backend> {
  switch (config.backend) {
    case 'fastify':
      return loadFastify().createFastifyBackend(config);
    case 'express':
      return loadExpress().createExpressBackend(config);
    case 'native': {
      const loaded = loadNativeBackend(config);
      if (!loaded.ok) throw new Error(`HANDOFF_BACKEND=native but the addon did not load: ${loaded.reason}`);
      return loaded.backend;
    }
    case 'auto': {
      const loaded = loadNativeBackend(config);
      if (loaded.ok) return loaded.backend;
      log('native', `not loaded, serving with fastify instead: ${loaded.reason}`);
      return loadFastify().createFastifyBackend(config);
    }
  }
}

// The frameworks are loaded only when they serve: loading both costs a native start about
// 0.3 s of CPU and tens of MiB it never uses (measured by bench/, S6 and S7).
function loadFastify(): typeof import('./fastify') {
  return require('./fastify') as typeof import('./fastify');
}

function loadExpress(): typeof import('./express') {
  return require('./express') as typeof import('./express');
}
