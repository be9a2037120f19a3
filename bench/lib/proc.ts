// What a process has used, read from /proc (Linux): CPU time, resident memory, threads. Only
// the process itself counts (not its children), so a server's figures are its own.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux build). */
const TICKS_PER_SECOND = 100;

/** One reading of a process. */
export interface ProcSample {
  /** User plus system CPU time so far, in milliseconds (10 ms resolution). */
  readonly cpuMs: number;
  /** Resident memory, in KiB (VmRSS). */
  readonly rssKiB: number;
  /** Threads now. */
  readonly threads: number;
}

/** Reads `pid`'s CPU time, RSS and thread count; throws if the process is gone. */
export function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the man page (utime, stime) are 11 and 12 here, counting from state.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuMs: (ticks * 1000) / TICKS_PER_SECOND,
    rssKiB: statusField(status, 'VmRSS'),
    threads: statusField(status, 'Threads'),
  };
}

/** The process's start, as milliseconds since the epoch (10 ms resolution). */
export function processStartMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  const uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const bootMs = Date.now() - uptimeSeconds * 1000;
  return bootMs + (startTicks * 1000) / TICKS_PER_SECOND;
}

/** The parent of `pid`, or undefined once it is gone. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Busy and total time of the whole machine so far (all cores), in ticks, from /proc/stat. */
export interface MachineSample {
  readonly busy: number;
  readonly total: number;
}

/** Reads the machine-wide CPU counters. */
export function sampleMachine(): MachineSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const ticks = values.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: total - idle, total };
}

/** The share of the machine's CPU that was busy between two samples, 0 to 1. */
export function busyShare(before: MachineSample, after: MachineSample): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

function statusField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return match ? Number(match[1]) : Number.NaN;
}
