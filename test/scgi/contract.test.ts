// The core contract suite (test/contract/suite.ts) over SCGI, on every backend that speaks it:
// on a Unix socket, and on TCP under a base path. The client sends each request as nginx would
// (test/helpers/scgi.ts).
import { after, before, describe } from 'node:test';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { ALL_BACKENDS, type StartedBackend, startBackend, type Transport } from '../helpers/backends';
import { scgiRequest, scgiUnavailable } from '../helpers/scgi';

const RUNS: readonly { transport: Transport; basePath: string }[] = [
  { transport: 'unix', basePath: '' },
  { transport: 'tcp', basePath: '/api/v1' },
];

for (const backend of ALL_BACKENDS) {
  for (const { transport, basePath } of RUNS) {
    const title = `${backend} over SCGI on ${transport}${basePath ? ` under ${basePath}` : ''}`;
    describe(title, { skip: scgiUnavailable(backend) ?? false }, () => {
      let started: StartedBackend | undefined;
      let target: ContractTarget | undefined;
      before(async () => {
        const env = { HANDOFF_PROTOCOL: 'scgi', ...(basePath ? { HANDOFF_BASE_PATH: basePath } : {}) };
        started = await startBackend(backend, transport, env);
        const { endpoint, config } = started;
        target = { endpoint, backend, basePath, version: config.version, direct: true, send: scgiRequest };
      });
      after(() => started?.stop());

      defineContractTests(() => {
        if (target === undefined) throw new Error(`${backend} did not start over SCGI`);
        return target;
      });
    });
  }
}
