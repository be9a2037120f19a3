// The contract suite against every backend, over a Unix socket and over TCP, with and without
// a base path.
import { after, before, describe } from 'node:test';
import { BACKENDS, requireBackend, type StartedBackend, startBackend, type Transport } from '../helpers/backends';
import { type ContractTarget, defineContractTests } from './suite';

const RUNS: { transport: Transport; basePath: string }[] = [
  { transport: 'unix', basePath: '' },
  { transport: 'tcp', basePath: '' },
  { transport: 'unix', basePath: '/api/v1' },
];

for (const backend of BACKENDS) {
  for (const { transport, basePath } of RUNS) {
    describe(`${backend} over ${transport}${basePath ? ` under ${basePath}` : ''}`, () => {
      let started: StartedBackend | undefined;
      let target: ContractTarget | undefined;

      before(async (t) => {
        if (!requireBackend(t as never, backend)) return;
        started = await startBackend(backend, transport, basePath ? { HANDOFF_BASE_PATH: basePath } : {});
        target = { endpoint: started.endpoint, backend, basePath, version: started.config.version, direct: true };
      });
      after(() => started?.stop());

      defineContractTests(() => {
        if (target === undefined) throw new Error(`${backend} did not start (see the skip reason above)`);
        return target;
      });
    });
  }
}
