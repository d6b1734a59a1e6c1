import { CASHY_ENDPOINTS } from '../client/cashy-endpoints';
import { SANDBOX_FAULT_MODES, type SandboxFaultMode, type SandboxFaultSpec, type SandboxRandomFaults } from './sandbox-options.interface';

/** Seed of the fault PRNG when none is given: fixed, so runs replay unless you choose otherwise. */
export const SANDBOX_DEFAULT_FAULT_SEED = 0x5eed;

const ENDPOINT_PATHS: readonly string[] = Object.values(CASHY_ENDPOINTS);

/**
 * mulberry32: a tiny, fast 32-bit PRNG. Not for secrets; here only so a seed replays the same
 * sequence of faults on every machine.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Turns `'payOut'` or `'/api/payOut'` into the path; throws for anything that is not a payout endpoint. */
export function normalizeSandboxEndpoint(endpoint: string): string {
  const path = endpoint.startsWith('/') ? endpoint : `/api/${endpoint}`;
  if (!ENDPOINT_PATHS.includes(path)) {
    throw new Error(`CashySandbox: unknown endpoint "${endpoint}" (use one of ${ENDPOINT_PATHS.join(', ')})`);
  }
  return path;
}

function endpointSet(endpoints: string[] | undefined): ReadonlySet<string> | undefined {
  return endpoints === undefined ? undefined : new Set(endpoints.map(normalizeSandboxEndpoint));
}

function checkMode(mode: unknown, where: string): SandboxFaultMode {
  if (!SANDBOX_FAULT_MODES.includes(mode as SandboxFaultMode)) {
    throw new Error(`CashySandbox: ${where} "${String(mode)}" is not a fault mode (use one of ${SANDBOX_FAULT_MODES.join(', ')})`);
  }
  return mode as SandboxFaultMode;
}

interface Injected {
  mode: SandboxFaultMode;
  remaining: number;
  endpoints?: ReadonlySet<string>;
}

/**
 * Decides which requests get a fault: first the injected ones (oldest first), then the random ones.
 * The PRNG is drawn only for requests that can get a random fault, so the same requests in the same
 * order always meet the same faults.
 */
export class SandboxFaultPlanner {
  private readonly injected: Injected[] = [];
  private readonly random?: { rate: number; modes: readonly SandboxFaultMode[]; endpoints?: ReadonlySet<string>; next: () => number };

  constructor(options?: SandboxRandomFaults) {
    if (options === undefined) return;
    if (typeof options.rate !== 'number' || !(options.rate >= 0 && options.rate <= 1)) {
      throw new Error('CashySandbox: faults.rate must be a number from 0 to 1');
    }
    if (options.seed !== undefined && !Number.isInteger(options.seed)) throw new Error('CashySandbox: faults.seed must be an integer');
    const modes = (options.modes ?? SANDBOX_FAULT_MODES).map((mode) => checkMode(mode, 'faults.modes entry'));
    if (modes.length === 0) throw new Error('CashySandbox: faults.modes must not be empty');
    this.random = { rate: options.rate, modes, endpoints: endpointSet(options.endpoints), next: mulberry32(options.seed ?? SANDBOX_DEFAULT_FAULT_SEED) };
  }

  /** Queues `count` faults of `mode` for the next matching requests. */
  inject(spec: SandboxFaultSpec): void {
    const mode = checkMode(spec.mode, 'mode');
    if (!Number.isInteger(spec.count) || spec.count < 1) throw new Error('CashySandbox: injectFaults count must be a whole number of at least 1');
    this.injected.push({ mode, remaining: spec.count, endpoints: endpointSet(spec.endpoints) });
  }

  /** The fault for a request to `path`, if any (consumes it). */
  draw(path: string): SandboxFaultMode | undefined {
    const index = this.injected.findIndex((entry) => !entry.endpoints || entry.endpoints.has(path));
    if (index >= 0) {
      const entry = this.injected[index];
      if (--entry.remaining === 0) this.injected.splice(index, 1);
      return entry.mode;
    }
    const random = this.random;
    if (!random || (random.endpoints && !random.endpoints.has(path))) return undefined;
    if (random.next() >= random.rate) return undefined;
    return random.modes[Math.floor(random.next() * random.modes.length)];
  }
}
