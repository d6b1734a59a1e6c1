// npm run bench: every figure is a ratio against a baseline measured in the same run, because the
// machines this runs on are shared and noisy. Prints tables, writes bench/results.json, and exits
// 0 when every target is met, 1 when one is not (so regressions show), 2 when the run itself failed.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BENCH, selectedAdapters, selectedPhases } from './bench.config';
import { benchClient } from './client.bench';
import { benchMemory } from './memory.bench';
import { checkTargets, formatReport, machineInfo, writeJsonAtomically, type BenchResults } from './results.report';
import { benchSigning } from './signing.bench';
import { benchWebhook } from './webhook.bench';

/**
 * Where the machine-readable results go: `BENCH_RESULTS`, else the source tree's bench/results.json
 * (this file runs from dist-scripts/bench/) — but only for a full run, so a `BENCH_ONLY` run while
 * iterating never replaces the committed figures with a partial set.
 */
function resultsPath(full: boolean): string | undefined {
  return process.env.BENCH_RESULTS || (full ? join(__dirname, '..', '..', 'bench', 'results.json') : undefined);
}

async function main(): Promise<number> {
  const phases = selectedPhases();
  if (phases.size === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} selects no phase (webhook, client, signing, memory)`);
  const log = (line: string) => process.stderr.write(line + '\n');
  const startedAt = Date.now();
  const loadAtStart = loadavg()[0];
  const results: BenchResults = { webhook: [] };

  // Quietest first: the micro-benchmark, before any child process exists.
  if (phases.has('signing')) {
    log('signing …');
    results.signing = await benchSigning();
  }
  if (phases.has('webhook')) {
    for (const adapter of selectedAdapters()) {
      log(`webhook on ${adapter} …`);
      results.webhook.push(await benchWebhook(adapter, log));
    }
  }
  if (phases.has('client')) {
    log('client …');
    results.client = await benchClient(log);
  }
  if (phases.has('memory')) {
    log('memory …');
    results.memory = await benchMemory();
  }

  const machine = machineInfo(loadAtStart);
  const targets = checkTargets(results);
  const passed = targets.every((t) => t.pass);
  process.stdout.write(formatReport(results, machine, targets) + '\n');
  log(`bench took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  const full = phases.size === 4 && selectedAdapters().length === BENCH.webhook.adapters.length;
  const path = resultsPath(full);
  if (!path) {
    log('partial run: results not written (set BENCH_RESULTS=<file> to keep them)');
    return passed ? 0 : 1;
  }
  writeJsonAtomically(path, {
    machine,
    phases: [...phases],
    config: BENCH,
    ...results,
    targets,
    passed,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  });
  log(`wrote ${path}`);
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('bench run failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(2);
  },
);
