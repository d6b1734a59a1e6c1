import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import { isPlainObject, parseJson } from '../client/cashy-wire';
import { errorReply } from './sandbox-conventions';
import type { SandboxProcessedRequest } from './sandbox-endpoints';
import type { SandboxFaultDraw } from './sandbox-faults';
import type {
  SandboxFaultMode,
  SandboxFaultReply,
  SandboxHttpReply,
  SandboxMismatch,
  SandboxOrder,
} from './sandbox.types';

/** One request that met a fault: what its handler may do with it. */
export interface SandboxFaultTurn {
  /** The request's path (one of the four endpoints). */
  path: string;
  /** Records what the request met, in `sandbox.requests`. */
  record(response: SandboxFaultReply): void;
  /** Answers the request. */
  send(reply: SandboxHttpReply, contentType?: string): void;
  /** Processes the request as the gateway would (a payOut creates its order). */
  process(): SandboxProcessedRequest;
  /** Destroys the socket without a response. */
  drop(): void;
  /** Checks a payOut now and books it `lateCommitMs` after it arrived, never answering it. */
  commitLate(): void;
  /**
   * Moves a new order to its final status and notifies it; resolves, once the notification's first
   * attempt is recorded, with whether the request can still be answered.
   */
  notifyFirst(order: SandboxOrder): Promise<boolean>;
}

/** What a fault does to one request. */
export type SandboxFaultHandler = (turn: SandboxFaultTurn, fault: SandboxFaultDraw) => void;

const TEXT_CONTENT_TYPE = 'text/plain;charset=UTF-8';

/** A payOut or payOutQuery answer whose `data` carries the `mismatch` values instead. */
function falsify(
  reply: SandboxHttpReply,
  path: string,
  mismatch: SandboxMismatch,
): SandboxHttpReply {
  if (path !== CASHY_ENDPOINTS.payOut && path !== CASHY_ENDPOINTS.payOutQuery) return reply;
  const envelope = parseJson(reply.body);
  if (!isPlainObject(envelope) || !isPlainObject(envelope.data)) return reply;
  const data = { ...envelope.data, ...mismatch };
  return {
    httpStatus: reply.httpStatus,
    body: JSON.stringify({ ...envelope, data }),
  };
}

/** Sends `sent` in place of the processed request's answer, recording both. */
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

/** Each fault mode's handler: what `SANDBOX_FAULT_EFFECTS` says it does, as code. */
export const SANDBOX_FAULT_HANDLERS: Readonly<Record<SandboxFaultMode, SandboxFaultHandler>> = {
  timeout: (turn) => turn.record({ fault: 'timeout' }),
  'timeout-after-create': (turn) =>
    turn.record({
      fault: 'timeout-after-create',
      withheld: turn.process().reply,
    }),
  'drop-after-create': (turn) => {
    turn.record({ fault: 'drop-after-create', withheld: turn.process().reply });
    turn.drop();
  },
  'http-500': (turn) => {
    const sent = { httpStatus: 500, body: 'Internal Server Error' };
    turn.record({ fault: 'http-500', ...sent });
    turn.send(sent, TEXT_CONTENT_TYPE);
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
  reply: (turn, fault) => {
    const { httpStatus, body, contentType } = fault.reply!;
    const withheld = fault.process ? turn.process().reply : undefined;
    turn.record({
      fault: 'reply',
      httpStatus,
      body,
      contentType,
      ...(withheld ? { withheld } : {}),
    });
    turn.send({ httpStatus, body }, contentType);
  },
  'notify-before-answer': (turn) => {
    const { reply, created } = turn.process();
    const response: SandboxFaultReply = {
      fault: 'notify-before-answer',
      ...reply,
    };
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
