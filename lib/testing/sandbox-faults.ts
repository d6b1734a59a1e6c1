import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import {
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  SANDBOX_FAULT_MODES,
  type SandboxFaultMode,
  type SandboxFaultSpec,
  type SandboxMismatch,
  type SandboxRandomFaults,
} from './sandbox.types';

/** Seed of the fault PRNG when none is given: fixed, so runs replay unless you choose otherwise. */
const SANDBOX_DEFAULT_FAULT_SEED = 0x5eed;

/** The four payout endpoint paths. */
export const ENDPOINT_PATHS: readonly string[] = Object.values(CASHY_ENDPOINTS);

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
function normalizeSandboxEndpoint(endpoint: string): string {
  const path = endpoint.startsWith('/') ? endpoint : `/api/${endpoint}`;
  if (!ENDPOINT_PATHS.includes(path)) {
    throw new Error(
      `CashySandbox: unknown endpoint "${endpoint}" (use one of ${ENDPOINT_PATHS.join(', ')})`,
    );
  }
  return path;
}

function endpointSet(
  endpoints: string[] | undefined,
): ReadonlySet<string> | undefined {
  return endpoints === undefined
    ? undefined
    : new Set(endpoints.map(normalizeSandboxEndpoint));
}

function checkMode(mode: unknown, where: string): SandboxFaultMode {
  if (!SANDBOX_FAULT_MODES.includes(mode as SandboxFaultMode)) {
    throw new Error(
      `CashySandbox: ${where} "${String(mode)}" is not a fault mode (use one of ${SANDBOX_FAULT_MODES.join(', ')})`,
    );
  }
  return mode as SandboxFaultMode;
}

/** Modes that cannot work without their spec field, hence never drawn at random. */
const MODES_NEEDING_DATA: readonly SandboxFaultMode[] = ['reply', 'mismatch'];
const MISMATCH_FIELDS: readonly (keyof SandboxMismatch)[] = [
  'amount',
  'mchOrderNo',
  'orderStatus',
  'orderNo',
];
const DEFAULT_REPLY_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** A fault that struck one request, with what its mode needs (validated and copied at injection). */
export interface SandboxFaultDraw {
  mode: SandboxFaultMode;
  /** `reply`: the scripted answer, body already serialized. */
  reply?: { httpStatus: number; body: string; contentType: string };
  /** `reply`: process the request before answering. */
  process?: boolean;
  /** `mismatch`: the values to put in the answer's `data`. */
  mismatch?: SandboxMismatch;
}

interface Injected {
  fault: SandboxFaultDraw;
  remaining: number;
  endpoints?: ReadonlySet<string>;
}

export const isPlainObject = (
  value: unknown,
): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkReply(spec: SandboxFaultSpec): SandboxFaultDraw['reply'] {
  const reply: unknown = spec.reply;
  if (!isPlainObject(reply))
    throw new Error(
      'CashySandbox: injectFaults reply is required for mode "reply" (an object with a body)',
    );
  const httpStatus = reply.httpStatus ?? 200;
  if (
    typeof httpStatus !== 'number' ||
    !Number.isInteger(httpStatus) ||
    httpStatus < 100 ||
    httpStatus > 599
  ) {
    throw new Error(
      'CashySandbox: injectFaults reply.httpStatus must be a whole number from 100 to 599',
    );
  }
  let body: unknown = reply.body;
  if (typeof body === 'object' && body !== null) {
    try {
      body = JSON.stringify(body);
    } catch {
      body = undefined;
    }
  }
  if (typeof body !== 'string')
    throw new Error(
      'CashySandbox: injectFaults reply.body must be a string or a JSON-serializable object',
    );
  const contentType = reply.contentType ?? DEFAULT_REPLY_CONTENT_TYPE;
  // A header value with control characters would make node:http throw when answering.
  if (
    typeof contentType !== 'string' ||
    contentType.trim().length === 0 ||
    // eslint-disable-next-line no-control-regex -- a header value must not carry control characters
    /[\u0000-\u001f\u007f]/.test(contentType)
  ) {
    throw new Error(
      'CashySandbox: injectFaults reply.contentType must be a non-empty header value without control characters',
    );
  }
  if (spec.process !== undefined && typeof spec.process !== 'boolean')
    throw new Error('CashySandbox: injectFaults process must be a boolean');
  return { httpStatus, body, contentType };
}

function checkMismatch(spec: SandboxFaultSpec): SandboxMismatch {
  const mismatch: unknown = spec.mismatch;
  if (!isPlainObject(mismatch)) {
    throw new Error(
      `CashySandbox: injectFaults mismatch is required for mode "mismatch" (an object with any of ${MISMATCH_FIELDS.join(', ')})`,
    );
  }
  const copy: SandboxMismatch = {};
  for (const [field, value] of Object.entries(mismatch)) {
    if (!MISMATCH_FIELDS.includes(field as keyof SandboxMismatch)) {
      throw new Error(
        `CashySandbox: injectFaults mismatch.${field} is not a field it can change (use ${MISMATCH_FIELDS.join(', ')})`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw new Error(
        `CashySandbox: injectFaults mismatch.${field} must be a string`,
      );
    copy[field as keyof SandboxMismatch] = value;
  }
  if (Object.keys(copy).length === 0)
    throw new Error(
      `CashySandbox: injectFaults mismatch must set at least one of ${MISMATCH_FIELDS.join(', ')}`,
    );
  return copy;
}

/** Validates an injected spec into the fault it will produce; throws an `Error` naming the bad field. */
function checkSpec(spec: SandboxFaultSpec): SandboxFaultDraw {
  if (!isPlainObject(spec))
    throw new Error(
      'CashySandbox: injectFaults needs a spec object ({ mode, count })',
    );
  const mode = checkMode(spec.mode, 'mode');
  for (const [field, owner] of [
    ['reply', 'reply'],
    ['process', 'reply'],
    ['mismatch', 'mismatch'],
  ] as const) {
    if (spec[field] !== undefined && mode !== owner)
      throw new Error(
        `CashySandbox: injectFaults ${field} is only for mode "${owner}", not "${mode}"`,
      );
  }
  if (mode === 'reply')
    return { mode, reply: checkReply(spec), process: spec.process ?? false };
  if (mode === 'mismatch') return { mode, mismatch: checkMismatch(spec) };
  return { mode };
}

/**
 * Decides which requests get a fault: first the injected ones (oldest first), then the random ones.
 * The PRNG is drawn only for requests that can get a random fault, so the same requests in the same
 * order always meet the same faults.
 */
export class SandboxFaultPlanner {
  private readonly injected: Injected[] = [];
  private readonly random?: {
    rate: number;
    modes: readonly SandboxFaultMode[];
    endpoints?: ReadonlySet<string>;
    next: () => number;
  };

  constructor(options?: SandboxRandomFaults) {
    if (options === undefined) return;
    if (
      typeof options.rate !== 'number' ||
      !(options.rate >= 0 && options.rate <= 1)
    ) {
      throw new Error('CashySandbox: faults.rate must be a number from 0 to 1');
    }
    if (options.seed !== undefined && !Number.isInteger(options.seed))
      throw new Error('CashySandbox: faults.seed must be an integer');
    if (options.modes !== undefined && !Array.isArray(options.modes))
      throw new Error(
        'CashySandbox: faults.modes must be an array of fault modes',
      );
    const modes = (options.modes ?? SANDBOX_DEFAULT_RANDOM_FAULT_MODES).map(
      (mode) => checkMode(mode, 'faults.modes entry'),
    );
    if (modes.length === 0)
      throw new Error('CashySandbox: faults.modes must not be empty');
    for (const mode of modes) {
      if (MODES_NEEDING_DATA.includes(mode)) {
        throw new Error(
          `CashySandbox: faults.modes entry "${mode}" cannot be drawn at random (it needs its spec field); inject it with sandbox.injectFaults({ mode: '${mode}', … })`,
        );
      }
    }
    this.random = {
      rate: options.rate,
      modes,
      endpoints: endpointSet(options.endpoints),
      next: mulberry32(options.seed ?? SANDBOX_DEFAULT_FAULT_SEED),
    };
  }

  /**
   * Queues `count` faults of `mode` for the next matching requests. The spec is validated (and its
   * `reply`/`mismatch` copied) now, so a bad one throws here rather than when a request arrives.
   */
  inject(spec: SandboxFaultSpec): void {
    const fault = checkSpec(spec);
    if (!Number.isInteger(spec.count) || spec.count < 1)
      throw new Error(
        'CashySandbox: injectFaults count must be a whole number of at least 1',
      );
    this.injected.push({
      fault,
      remaining: spec.count,
      endpoints: endpointSet(spec.endpoints),
    });
  }

  /** The fault for a request to `path`, if any (consumes it). */
  draw(path: string): SandboxFaultDraw | undefined {
    const index = this.injected.findIndex(
      (entry) => !entry.endpoints || entry.endpoints.has(path),
    );
    if (index >= 0) {
      const entry = this.injected[index];
      if (--entry.remaining === 0) this.injected.splice(index, 1);
      return entry.fault;
    }
    const random = this.random;
    if (!random || (random.endpoints && !random.endpoints.has(path)))
      return undefined;
    if (random.next() >= random.rate) return undefined;
    return {
      mode: random.modes[Math.floor(random.next() * random.modes.length)],
    };
  }
}
