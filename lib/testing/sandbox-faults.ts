import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import { isPlainObject, parseJson } from '../client/cashy-wire';
import { OptionReader } from '../options/option.reader';
import { SANDBOX_CONTENT_TYPE, errorReply } from './sandbox-conventions';
import type { SandboxProcessedRequest } from './sandbox-endpoints';
import {
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  SANDBOX_FAULT_MODES,
  type SandboxFaultMode,
  type SandboxFaultReply,
  type SandboxFaultSpec,
  type SandboxHttpReply,
  type SandboxMismatch,
  type SandboxOrder,
} from './sandbox.types';

/** The four payout endpoint paths. */
export const ENDPOINT_PATHS: readonly string[] = Object.values(CASHY_ENDPOINTS);

/** mulberry32, a tiny PRNG (not for secrets): a seed replays the same faults on every machine. */
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

/** `[min, max, default]`; the seed is fixed unless given, so runs replay. */
const RANDOM_FAULT_RULES = {
  rate: [0, 1, 0, 'number'],
  seed: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0x5eed],
} as const;
const INJECTED_COUNT = [1, Infinity, 1] as const;
const HTTP_STATUS = [100, 599, 200] as const;
/** Modes that cannot work without their spec field, hence never drawn at random. */
const MODES_NEEDING_DATA: readonly SandboxFaultMode[] = ['reply', 'mismatch'];
const MISMATCH_FIELDS: readonly string[] = ['amount', 'mchOrderNo', 'orderStatus', 'orderNo'];
const INJECT_LEAD = 'CashySandbox: injectFaults ';
/** Spec fields only one mode takes. */
const FIELD_OWNERS = { reply: 'reply', process: 'reply', mismatch: 'mismatch' } as const;

/** A fault that struck one request, with what its mode needs (validated and copied at injection). */
export interface SandboxFaultDraw {
  mode: SandboxFaultMode;
  /** `reply`: the scripted answer, body already serialized. */
  reply?: { httpStatus: number; body: string; contentType: string };
  process?: boolean;
  mismatch?: SandboxMismatch;
}

/** Random faults after validation: each matching request draws from `next`. */
export interface SandboxRandomFaultPlan {
  rate: number;
  modes: readonly SandboxFaultMode[];
  endpoints?: ReadonlySet<string>;
  next: () => number;
}

/** Endpoints as paths (`'/api/payOut'`) or names (`'payOut'`); `undefined` for all four. */
function readEndpoints(reader: OptionReader, endpoints: unknown, path: string) {
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
  return paths as ReadonlySet<string>;
}

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
  // eslint-disable-next-line no-control-regex -- a header value must not carry control characters
  const unsafe = /[\u0000-\u001f\u007f]/;
  if (typeof contentType !== 'string' || contentType.trim() === '' || unsafe.test(contentType))
    reader.fail('reply.contentType', 'must be a non-empty header value without control characters');
  return { httpStatus, body: body as string, contentType: contentType as string };
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

/** An injected spec, validated: its fault, how many more requests it strikes, and where. */
interface InjectedFault {
  fault: SandboxFaultDraw;
  remaining: number;
  endpoints?: ReadonlySet<string>;
}

/** Validates an injected spec; throws an `Error` naming every bad field. */
function readSpec(spec: SandboxFaultSpec): InjectedFault {
  const reader = new OptionReader();
  if (!isPlainObject(spec)) reader.report('', 'needs a spec object ({ mode, count })');
  const given: Record<string, unknown> = isPlainObject(spec) ? spec : {};
  if (!isPlainObject(spec) || !isMode(reader, given.mode, 'mode'))
    reader.throwIfAny(INJECT_LEAD, Error);
  const fault: SandboxFaultDraw = { mode: given.mode as SandboxFaultMode };
  for (const [field, owner] of Object.entries(FIELD_OWNERS))
    if (given[field] !== undefined && fault.mode !== owner)
      reader.fail(field, `is only for mode "${owner}", not "${fault.mode}"`);
  if (fault.mode === 'reply') {
    fault.reply = readReply(reader, given);
    fault.process = reader.value(given.process, 'process', false);
  }
  if (fault.mode === 'mismatch') fault.mismatch = readMismatch(reader, given);
  const remaining = reader.required(given.count, 'count', INJECTED_COUNT);
  const endpoints = readEndpoints(reader, given.endpoints, 'endpoints');
  reader.throwIfAny(INJECT_LEAD, Error);
  return { fault, remaining, endpoints };
}

/**
 * Decides which requests get a fault: injected ones first (oldest first), then random ones. The
 * PRNG is drawn only for requests that can get a random fault, so the same requests always meet
 * the same faults.
 */
export class SandboxFaultPlanner {
  private readonly injected: InjectedFault[] = [];

  constructor(private readonly random?: SandboxRandomFaultPlan) {}

  /** Queues `count` faults; the spec is validated and copied now, so a bad one throws here. */
  inject(spec: SandboxFaultSpec): void {
    this.injected.push(readSpec(spec));
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
    return { mode: random.modes[Math.floor(random.next() * random.modes.length)] };
  }
}

/** One request that met a fault: what its handler may do with it. */
export interface SandboxFaultTurn {
  /** One of the four endpoints. */
  path: string;
  /** Records what the request met, in `sandbox.requests`. */
  record(response: SandboxFaultReply): void;
  send(reply: SandboxHttpReply, contentType?: string): void;
  /** Processes the request as the gateway would (a payOut creates its order). */
  process(): SandboxProcessedRequest;
  /** Destroys the socket without a response. */
  drop(): void;
  /** Checks a payOut now and books it `lateCommitMs` after it arrived, never answering it. */
  commitLate(): void;
  /** Finishes a new order and notifies it; resolves with whether the request can still be answered. */
  notifyFirst(order: SandboxOrder): Promise<boolean>;
}

/** What a fault does to one request. */
type SandboxFaultHandler = (turn: SandboxFaultTurn, fault: SandboxFaultDraw) => void;

/** A payOut or payOutQuery answer whose `data` carries the `mismatch` values instead. */
function falsify(reply: SandboxHttpReply, path: string, mismatch: SandboxMismatch) {
  if (path !== CASHY_ENDPOINTS.payOut && path !== CASHY_ENDPOINTS.payOutQuery) return reply;
  const envelope = parseJson(reply.body);
  if (!isPlainObject(envelope) || !isPlainObject(envelope.data)) return reply;
  const data = { ...envelope.data, ...mismatch };
  return { httpStatus: reply.httpStatus, body: JSON.stringify({ ...envelope, data }) };
}

/** Processes the request, then sends `replace(its answer)` instead, recording both. */
function replaceAnswer(
  turn: SandboxFaultTurn,
  fault: SandboxFaultMode,
  replace: (withheld: SandboxHttpReply) => SandboxHttpReply,
): void {
  const withheld = turn.process().reply;
  const sent = replace(withheld);
  turn.record({ fault, ...sent, withheld });
  turn.send(sent);
}

/** Each fault mode's handler: `SANDBOX_FAULT_EFFECTS` as code. */
export const SANDBOX_FAULT_HANDLERS: Readonly<Record<SandboxFaultMode, SandboxFaultHandler>> = {
  timeout: (turn) => turn.record({ fault: 'timeout' }),
  'timeout-after-create': (turn) =>
    turn.record({ fault: 'timeout-after-create', withheld: turn.process().reply }),
  'drop-after-create': (turn) => {
    turn.record({ fault: 'drop-after-create', withheld: turn.process().reply });
    turn.drop();
  },
  'http-500': (turn) => {
    const sent = { httpStatus: 500, body: 'Internal Server Error' };
    turn.record({ fault: 'http-500', ...sent });
    turn.send(sent, 'text/plain;charset=UTF-8');
  },
  'system-busy': (turn) => {
    const sent = errorReply('System_busy');
    turn.record({ fault: 'system-busy', ...sent });
    turn.send(sent);
  },
  'system-error': (turn) => replaceAnswer(turn, 'system-error', () => errorReply('System_error')),
  'late-commit': (turn) =>
    turn.path === CASHY_ENDPOINTS.payOut
      ? turn.commitLate()
      : turn.record({ fault: 'late-commit' }),
  reply: (turn, { reply, process }) => {
    const withheld = process ? turn.process().reply : undefined;
    turn.record({ fault: 'reply', ...reply!, ...(withheld ? { withheld } : {}) });
    turn.send({ httpStatus: reply!.httpStatus, body: reply!.body }, reply!.contentType);
  },
  'notify-before-answer': (turn) => {
    const { reply, created } = turn.process();
    const response: SandboxFaultReply = { fault: 'notify-before-answer', ...reply };
    turn.record(response);
    if (!created) return turn.send(reply);
    void turn.notifyFirst(created).then((open) => {
      if (!open) return;
      response.answeredAt = Date.now();
      turn.send(reply);
    });
  },
  mismatch: (turn, fault) =>
    replaceAnswer(turn, 'mismatch', (withheld) => falsify(withheld, turn.path, fault.mismatch!)),
};
