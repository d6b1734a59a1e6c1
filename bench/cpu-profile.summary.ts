// Summarizes a V8 .cpuprofile (from BENCH_CPU_PROF=<dir> or node --cpu-prof): the top functions
// by self time, and self time grouped by package, so a bench regression can be pinned on a cost.
// Usage: node dist-scripts/bench/cpu-profile.summary.js <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 .cpuprofile: `startTime` and `timeDeltas` in µs of the monotonic clock. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime?: number;
  endTime?: number;
}

/** The package (or `lib`, `node:` internals, `(program)`…) a script URL belongs to. */
export function packageOf(url: string): string {
  if (!url) return '(native/program)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/dist/')) return 'nestjs-cashy-payout (dist)';
  if (url.includes('/dist-scripts/')) return 'bench';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return url;
}

/** Self time per function and per package, in ms, sorted descending. */
export function summarize(profile: CpuProfile): {
  total: number;
  functions: [string, number][];
  packages: [string, number][];
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000),
  );
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url
      ? `${url.replace(/^.*node_modules\//, '').replace(/^.*\/(dist|dist-scripts)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + ms);
    packages.set(packageOf(url), (packages.get(packageOf(url)) ?? 0) + ms);
    total += ms;
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { total, functions: sorted(functions), packages: sorted(packages) };
}

if (require.main === module) {
  const [file, top = '25'] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist-scripts/bench/cpu-profile.summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const { total, functions, packages } = summarize(
    JSON.parse(readFileSync(file, 'utf8')) as CpuProfile,
  );
  const pct = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)}%`;
  console.log(`total ${total.toFixed(0)} ms sampled\n\nself time by package:`);
  for (const [name, ms] of packages.slice(0, 15)) console.log(`${pct(ms)}  ${name}`);
  console.log('\ntop functions by self time:');
  for (const [name, ms] of functions.slice(0, Number(top))) console.log(`${pct(ms)}  ${name}`);
}
