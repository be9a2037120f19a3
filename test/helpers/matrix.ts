// Runs a contract suite in this process against every backend in BACKENDS (HANDOFF_TEST_BACKENDS),
// over a Unix socket and over TCP, with and without a base path: the core contract
// (test/contract/api.test.ts), and the contract tests of your own routes.
// The demo's contract runs so too (test/examples/examples.test.ts). // [examples]
import { after, before, describe } from 'node:test';
import type { ContractTarget } from '../contract/suite';
import { BACKENDS, backendUnavailable, type StartedBackend, startBackend, type Transport } from './backends';

/** Every transport and base path a suite runs with, per backend. */
export const RUNS: readonly { transport: Transport; basePath: string }[] = [
  { transport: 'unix', basePath: '' },
  { transport: 'tcp', basePath: '' },
  { transport: 'unix', basePath: '/api/v1' },
];

/** One `describe` per backend and run, each with a server of its own started before its tests. */
export function describeEveryBackend(defineTests: (target: () => ContractTarget) => void): void {
  for (const backend of BACKENDS) {
    for (const { transport, basePath } of RUNS) {
      const title = `${backend} over ${transport}${basePath ? ` under ${basePath}` : ''}`;
      describe(title, { skip: backendUnavailable(backend) ?? false }, () => {
        let started: StartedBackend | undefined;
        let target: ContractTarget | undefined;

        before(async () => {
          started = await startBackend(backend, transport, basePath ? { HANDOFF_BASE_PATH: basePath } : {});
          target = { endpoint: started.endpoint, backend, basePath, version: started.config.version, direct: true };
        });
        after(() => started?.stop());

        defineTests(() => {
          if (target === undefined) throw new Error(`${backend} did not start (see the skip reason above)`);
          return target;
        });
      });
    }
  }
}
