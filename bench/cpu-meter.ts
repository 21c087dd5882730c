/** Where a benchmark's CPU goes (this process, the Temporal server, PostgreSQL), read from /proc. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** CPU seconds (user + system, reaped children included) of a process, from /proc (Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Clock ticks are 1/100 s on Linux.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** Processes whose command line and parent match; empty where there is no /proc. */
export function findProcesses(match: (argv: string[], ppid: number) => boolean): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (match(argv, ppid)) found.push(Number(entry));
    } catch {
      // gone in the meantime
    }
  }
  return found;
}

export interface CpuSample {
  node: number;
  temporal: number;
  postgres: number;
  /** Of `node`: the API and card worker processes, where they run apart from this one. */
  api?: number;
  worker?: number;
}

/**
 * Where the CPU goes: this process (API, workers, benchmark), the Temporal server and PostgreSQL
 * (postmaster, its live backends, and through the postmaster's reaped children the ones gone).
 */
export function cpuMeter(temporalPort: number, pgDir: string): (() => CpuSample) | undefined {
  try {
    const [temporal] = findProcesses((argv) => argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === String(temporalPort));
    const postmaster = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!temporal || !postmaster) return undefined;
    return () => {
      const usage = process.cpuUsage();
      const backends = findProcesses((_argv, ppid) => ppid === postmaster);
      return {
        node: (usage.user + usage.system) / 1e6,
        temporal: cpuSecondsOf(temporal),
        postgres: cpuSecondsOf(postmaster) + backends.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
      };
    };
  } catch {
    return undefined;
  }
}

/** CPU milliseconds per unit of work between two samples, as "Temporal / node / PostgreSQL". */
export function cpuPer(a: CpuSample | undefined, b: CpuSample | undefined, units: number): string | undefined {
  if (!a || !b) return undefined;
  const per = (k: keyof CpuSample) => (((b[k] ?? 0) - (a[k] ?? 0)) * 1000) / units;
  const ms = (k: keyof CpuSample) => per(k).toFixed(1);
  const split = a.api !== undefined && a.worker !== undefined ? ` (API ${ms('api')}, card worker ${ms('worker')}, benchmark ${(per('node') - per('api') - per('worker')).toFixed(1)})` : '';
  return `${ms('temporal')} / ${ms('node')}${split} / ${ms('postgres')} ms`;
}
