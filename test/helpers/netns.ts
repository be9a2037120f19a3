// Network namespaces for the several-hosts test: each a "host" with its own network stack,
// joined to a balancer namespace by veth pairs with addresses from 198.18.0.0/15 (reserved for
// network benchmarks, RFC 2544), and no route anywhere else. Needs root (`ip netns`).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ensureTool } from './vps';

/** Runs `ip …`; throws with its stderr on failure. */
export function ip(...args: string[]): string {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr || result.error?.message}`);
  return result.stdout;
}

/** Why namespaces cannot be made here, or undefined. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const missing = ensureTool('/usr/sbin/ip', 'iproute2') ?? ensureTool('/usr/bin/ip', 'iproute2');
  if (missing !== undefined && spawnSync('ip', ['-V']).status !== 0) return missing;
  const name = `phcheck${randomBytes(3).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (added.status !== 0) return `ip netns add failed: ${added.stderr || added.error?.message}`;
  spawnSync('ip', ['netns', 'del', name]);
  return undefined;
}

/** A balancer namespace and `hosts` host namespaces, host i at 198.18.i.2 and the balancer at
 * 198.18.i.1 on the veth pair between them. */
export interface Network {
  readonly balancer: string;
  readonly hosts: readonly { readonly netns: string; readonly address: string }[];
  /** Deletes the namespaces (and with them the veth pairs). Processes must be gone first. */
  destroy(): void;
}

export function createNetwork(hosts: number): Network {
  const tag = randomBytes(3).toString('hex');
  const balancer = `phlb${tag}`;
  const made: string[] = [];
  const destroy = () => {
    for (const name of made.reverse()) spawnSync('ip', ['netns', 'del', name]);
  };
  try {
    ip('netns', 'add', balancer);
    made.push(balancer);
    ip('-n', balancer, 'link', 'set', 'lo', 'up');
    const list = [];
    for (let i = 1; i <= hosts; i++) {
      const netns = `phh${i}${tag}`;
      ip('netns', 'add', netns);
      made.push(netns);
      ip('-n', netns, 'link', 'set', 'lo', 'up');
      // Created inside the balancer's namespace, one end moved to the host's: nothing touches
      // the machine's own namespace.
      const [lbEnd, hostEnd] = [`vlb${i}${tag}`, `vh${i}${tag}`];
      ip('-n', balancer, 'link', 'add', lbEnd, 'type', 'veth', 'peer', 'name', hostEnd, 'netns', netns);
      ip('-n', balancer, 'addr', 'add', `198.18.${i}.1/24`, 'dev', lbEnd);
      ip('-n', netns, 'addr', 'add', `198.18.${i}.2/24`, 'dev', hostEnd);
      ip('-n', balancer, 'link', 'set', lbEnd, 'up');
      ip('-n', netns, 'link', 'set', hostEnd, 'up');
      list.push({ netns, address: `198.18.${i}.2` });
    }
    return { balancer, hosts: list, destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}
