import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import { isPlainObject } from '../client/cashy-wire';
import { OptionReader } from '../options/option.reader';
import { SANDBOX_CONTENT_TYPE } from './sandbox-conventions';
import {
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  SANDBOX_FAULT_MODES,
  type SandboxFaultMode,
  type SandboxFaultSpec,
  type SandboxMismatch,
} from './sandbox.types';

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

/** The random-fault options: `[min, max, default]`; the seed is fixed unless given, so runs replay. */
const RANDOM_FAULT_RULES = {
  rate: [0, 1, 0, 'number'],
  seed: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0x5eed],
} as const;
/** How many requests an injected fault strikes. */
const INJECTED_COUNT = [1, Infinity, 1] as const;
/** A reply fault's HTTP status. */
const HTTP_STATUS = [100, 599, 200] as const;
/** Modes that cannot work without their spec field, hence never drawn at random. */
const MODES_NEEDING_DATA: readonly SandboxFaultMode[] = ['reply', 'mismatch'];
const MISMATCH_FIELDS: readonly string[] = ['amount', 'mchOrderNo', 'orderStatus', 'orderNo'];

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

/** Random faults after validation: each matching request draws from `next`. */
export interface SandboxRandomFaultPlan {
  rate: number;
  modes: readonly SandboxFaultMode[];
  endpoints?: ReadonlySet<string>;
  next: () => number;
}

interface Injected {
  fault: SandboxFaultDraw;
  remaining: number;
  endpoints?: ReadonlySet<string>;
}

/** Endpoints as paths (`'/api/payOut'`) or names (`'payOut'`); `undefined` for all four. */
function readEndpoints(
  reader: OptionReader,
  endpoints: unknown,
  path: string,
): ReadonlySet<string> | undefined {
  if (endpoints === undefined) return undefined;
  const paths = new Set<string>();
  for (const endpoint of Array.isArray(endpoints) ? endpoints : [endpoints]) {
    const name = String(endpoint);
    const endpointPath = name.startsWith('/') ? name : `/api/${name}`;
    if (ENDPOINT_PATHS.includes(endpointPath)) paths.add(endpointPath);
    else
      reader.fail(
        path,
        `names an unknown endpoint "${name}" (use one of ${ENDPOINT_PATHS.join(', ')})`,
      );
  }
  return paths;
}

/** Whether `mode` is one; reported at `path` otherwise. */
function isMode(reader: OptionReader, mode: unknown, path: string): mode is SandboxFaultMode {
  if (SANDBOX_FAULT_MODES.includes(mode as SandboxFaultMode)) return true;
  reader.report(
    path,
    `${path} "${String(mode)}" is not a fault mode (use one of ${SANDBOX_FAULT_MODES.join(', ')})`,
  );
  return false;
}

/** Reads the sandbox option `faults` (random faults), reporting every bad field. */
export function readRandomFaults(
  reader: OptionReader,
  value: unknown,
): SandboxRandomFaultPlan | undefined {
  if (value === undefined) return undefined;
  const faults = reader.object(value, 'faults', 'an object { rate, seed?, modes?, endpoints? }');
  if (!faults) return undefined;
  const rate = reader.required(faults.rate, 'faults.rate', RANDOM_FAULT_RULES.rate);
  const seed = reader.value(faults.seed, 'faults.seed', RANDOM_FAULT_RULES.seed);
  const given = faults.modes ?? SANDBOX_DEFAULT_RANDOM_FAULT_MODES;
  if (!Array.isArray(given) || given.length === 0)
    reader.fail('faults.modes', 'must be a non-empty array of fault modes');
  const modes = (Array.isArray(given) ? given : []).filter((mode): mode is SandboxFaultMode =>
    isMode(reader, mode, 'faults.modes entry'),
  );
  for (const mode of modes.filter((m) => MODES_NEEDING_DATA.includes(m)))
    reader.report(
      'faults.modes',
      `faults.modes entry "${mode}" cannot be drawn at random (it needs its spec field); inject it with sandbox.injectFaults({ mode: '${mode}', … })`,
    );
  const endpoints = readEndpoints(reader, faults.endpoints, 'faults.endpoints');
  return { rate, modes, endpoints, next: mulberry32(seed) };
}

/** The `reply` fault's scripted answer, its body serialized once. */
function readReply(reader: OptionReader, spec: Record<string, unknown>): SandboxFaultDraw['reply'] {
  const reply = spec.reply;
  if (!isPlainObject(reply)) {
    reader.fail('reply', 'is required for mode "reply" (an object with a body)');
    return undefined;
  }
  const httpStatus = reader.value(reply.httpStatus, 'reply.httpStatus', HTTP_STATUS);
  let body: unknown = reply.body;
  try {
    if (typeof body === 'object' && body !== null) body = JSON.stringify(body);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'string')
    reader.fail('reply.body', 'must be a string or a JSON-serializable object');
  const contentType = reply.contentType ?? SANDBOX_CONTENT_TYPE;
  // A header value with control characters would make node:http throw when answering.
  if (
    typeof contentType !== 'string' ||
    contentType.trim().length === 0 ||
    // eslint-disable-next-line no-control-regex -- a header value must not carry control characters
    /[\u0000-\u001f\u007f]/.test(contentType)
  )
    reader.fail('reply.contentType', 'must be a non-empty header value without control characters');
  return {
    httpStatus,
    body: body as string,
    contentType: contentType as string,
  };
}

/** The `mismatch` fault's values, copied. */
function readMismatch(reader: OptionReader, spec: Record<string, unknown>): SandboxMismatch {
  const fields = MISMATCH_FIELDS.join(', ');
  const mismatch = spec.mismatch;
  if (!isPlainObject(mismatch)) {
    reader.fail('mismatch', `is required for mode "mismatch" (an object with any of ${fields})`);
    return {};
  }
  const copy: Record<string, string> = {};
  const problemsBefore = reader.problems.length;
  for (const [field, value] of Object.entries(mismatch)) {
    const path = `mismatch.${field}`;
    if (!MISMATCH_FIELDS.includes(field))
      reader.fail(path, `is not a field it can change (use ${fields})`);
    else if (value !== undefined && typeof value !== 'string')
      reader.fail(path, 'must be a string');
    else if (value !== undefined) copy[field] = value;
  }
  // Empty is worth saying only when no field was wrong.
  if (Object.keys(copy).length === 0 && reader.problems.length === problemsBefore)
    reader.fail('mismatch', `must set at least one of ${fields}`);
  return copy;
}

/** What the errors of `injectFaults` start with. */
const INJECT_LEAD = 'CashySandbox: injectFaults ';

/** Validates an injected spec into the fault it will produce; throws an `Error` naming every bad field. */
function readSpec(spec: SandboxFaultSpec): {
  fault: SandboxFaultDraw;
  endpoints?: ReadonlySet<string>;
} {
  const reader = new OptionReader();
  if (!isPlainObject(spec)) reader.report('', 'needs a spec object ({ mode, count })');
  const given: Record<string, unknown> = isPlainObject(spec) ? spec : {};
  if (!isPlainObject(spec) || !isMode(reader, given.mode, 'mode'))
    reader.throwIfAny(INJECT_LEAD, Error);
  const fault: SandboxFaultDraw = { mode: given.mode as SandboxFaultMode };
  for (const [field, owner] of [
    ['reply', 'reply'],
    ['process', 'reply'],
    ['mismatch', 'mismatch'],
  ] as const) {
    if (given[field] !== undefined && fault.mode !== owner)
      reader.fail(field, `is only for mode "${owner}", not "${fault.mode}"`);
  }
  if (fault.mode === 'reply') {
    fault.reply = readReply(reader, given);
    fault.process = reader.value(given.process, 'process', false);
  }
  if (fault.mode === 'mismatch') fault.mismatch = readMismatch(reader, given);
  reader.required(given.count, 'count', INJECTED_COUNT);
  const endpoints = readEndpoints(reader, given.endpoints, 'endpoints');
  reader.throwIfAny(INJECT_LEAD, Error);
  return { fault, endpoints };
}

/**
 * Decides which requests get a fault: first the injected ones (oldest first), then the random ones.
 * The PRNG is drawn only for requests that can get a random fault, so the same requests in the same
 * order always meet the same faults.
 */
export class SandboxFaultPlanner {
  private readonly injected: Injected[] = [];

  constructor(private readonly random?: SandboxRandomFaultPlan) {}

  /**
   * Queues `count` faults of `mode` for the next matching requests. The spec is validated (and its
   * `reply`/`mismatch` copied) now, so a bad one throws here rather than when a request arrives.
   */
  inject(spec: SandboxFaultSpec): void {
    const { fault, endpoints } = readSpec(spec);
    this.injected.push({ fault, remaining: spec.count, endpoints });
  }

  /** The fault for a request to `path`, if any (consumes it). */
  draw(path: string): SandboxFaultDraw | undefined {
    const index = this.injected.findIndex((entry) => !entry.endpoints || entry.endpoints.has(path));
    if (index >= 0) {
      const entry = this.injected[index];
      if (--entry.remaining === 0) this.injected.splice(index, 1);
      return entry.fault;
    }
    const random = this.random;
    if (!random || (random.endpoints && !random.endpoints.has(path))) return undefined;
    if (random.next() >= random.rate) return undefined;
    return {
      mode: random.modes[Math.floor(random.next() * random.modes.length)],
    };
  }
}
