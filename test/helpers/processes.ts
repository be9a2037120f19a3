// Processes seen through /proc (Linux, as Passenger's hosts are): finding an instance's
// descendants, recognising a pid again after it may have been reused, signalling a group.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** What a PID needs to be recognised again: without the start time, a reused pid would look alive. */
export interface ProcessMark {
  pid: number;
  startTime: string;
}

/** Parent pid, state and start time from /proc/<pid>/stat (Linux only, as Passenger's hosts are). */
export function processInfo(pid: number): { ppid: number; state: string; startTime: string } | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, ppid] = fields;
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || startTime === undefined) return undefined;
  return { ppid: Number(ppid), state, startTime };
}

export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = processInfo(Number(name));
    if (!info || info.state === 'Z') continue;
    const siblings = children.get(info.ppid) ?? [];
    siblings.push(Number(name));
    children.set(info.ppid, siblings);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export function isPassengerAgent(pid: number): boolean {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`)) === 'PassengerAgent';
  } catch {
    // Gone, or not ours to inspect: either way not an app process of this instance.
    return true;
  }
}

export function isAlive(mark: ProcessMark): boolean {
  const info = processInfo(mark.pid);
  return info !== undefined && info.state !== 'Z' && info.startTime === mark.startTime;
}

export function marksOf(pids: number[]): ProcessMark[] {
  return pids.flatMap((pid) => {
    const startTime = processInfo(pid)?.startTime;
    return startTime === undefined ? [] : [{ pid, startTime }];
  });
}

/** Processes whose command line holds `text` (other users' processes included: argv is public). */
export function mentioning(text: string): number[] {
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) return [];
    return readText(`/proc/${name}/cmdline`).includes(text) ? [Number(name)] : [];
  });
}

export function signalAll(marks: ProcessMark[], signal: NodeJS.Signals): void {
  for (const mark of marks) {
    if (!isAlive(mark)) continue;
    try {
      process.kill(mark.pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
}

/** A file's text, or '' when it cannot be read (a process that is gone). */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
