import type { Agent } from 'node:http';
import type { CaseChecks } from './case.result';
import type { StressHost } from './host.app';
import { mapLimit, post, type PostAnswer } from './http.client';
import type { SignedNotification } from './notifications.fixture';
import { sleep } from './stress.resources';

/** Where deliveries go: a webhook URL, and what its host's listener recorded so far. */
export type WebhookTarget = Pick<StressHost, 'webhookUrl'> & {
  listener: Pick<StressHost['listener'], 'count'>;
};

/** Answers of a batch of deliveries, and the acknowledgements that came before their event. */
export interface Delivered {
  answers: PostAnswer[];
  /** 200 `SUCCESS` answers whose order had no event recorded when the answer arrived. */
  ackedWithoutEvent: string[];
}

/** How `deliverTracked` sends. */
export interface DeliveryPace {
  /** Requests in flight at most. */
  concurrency: number;
  /** Request `i` does not start before `i / ratePerSecond` s (a steady offered load); unpaced when absent. */
  ratePerSecond?: number;
  /** Called with each answer as it arrives, and how many have arrived. */
  onAnswer?: (answer: PostAnswer, answered: number) => void;
}

/**
 * Delivers `items` (copies allowed). When an answer says `SUCCESS`, the listener must already have
 * recorded the order's event: the host is in this process, so that is checked the moment the answer
 * arrives.
 */
export async function deliverTracked(
  host: WebhookTarget,
  agent: Agent,
  items: readonly SignedNotification[],
  pace: DeliveryPace | number,
): Promise<Delivered> {
  const { concurrency, ratePerSecond, onAnswer } =
    typeof pace === 'number' ? { concurrency: pace } : pace;
  const ackedWithoutEvent: string[] = [];
  const started = Date.now();
  let answered = 0;
  const answers = await mapLimit(items, concurrency, async (n, i) => {
    if (ratePerSecond) {
      const wait = started + (i * 1000) / ratePerSecond - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const answer = await post(agent, host.webhookUrl, n.headers, n.body);
    if (answer.status === 200 && answer.body === 'SUCCESS' && host.listener.count(n.orderNo) === 0)
      ackedWithoutEvent.push(n.orderNo);
    onAnswer?.(answer, ++answered);
    return answer;
  });
  return { answers, ackedWithoutEvent };
}

/**
 * Sends every notification again, and again those not answered 200 (a 503 means "retry", as Cashy
 * would), every `pauseMs`, until all are acknowledged or `budgetMs` is spent. Resolves with the
 * rounds it took and the notifications still unacknowledged.
 */
export async function resendUntilAcknowledged(
  host: WebhookTarget,
  agent: Agent,
  notifications: readonly SignedNotification[],
  concurrency: number,
  budgetMs: number,
  pauseMs = 250,
): Promise<{
  rounds: number;
  unacknowledged: SignedNotification[];
  statuses: Map<number, number>;
  ackedWithoutEvent: string[];
}> {
  const until = Date.now() + budgetMs;
  const statuses = new Map<number, number>();
  const ackedWithoutEvent: string[] = [];
  let pending = [...notifications];
  let rounds = 0;
  while (pending.length > 0 && Date.now() < until) {
    if (rounds > 0) await sleep(pauseMs);
    rounds++;
    const delivered = await deliverTracked(host, agent, pending, concurrency);
    ackedWithoutEvent.push(...delivered.ackedWithoutEvent);
    for (const answer of delivered.answers)
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    pending = pending.filter((_, i) => delivered.answers[i].status !== 200);
  }
  return { rounds, unacknowledged: pending, statuses, ackedWithoutEvent };
}

/** Each notification `copies` times, a notification's copies side by side. */
export function withCopies(
  notifications: readonly SignedNotification[],
  copies: number,
): SignedNotification[] {
  return notifications.flatMap((n) => Array.from({ length: copies }, () => n));
}

/**
 * The notifications none of whose copies was answered 200, given the answers to a queue built by
 * `withCopies(notifications, copies)`.
 */
export function unacknowledgedCopies(
  notifications: readonly SignedNotification[],
  answers: readonly PostAnswer[],
  copies: number,
): SignedNotification[] {
  return notifications.filter((_, i) =>
    answers.slice(i * copies, (i + 1) * copies).every((a) => a.status !== 200),
  );
}

/** Adds the checks "only these statuses were answered" and "every 200 says SUCCESS" to `checks`. */
export function expectStatuses(
  checks: CaseChecks,
  answers: readonly PostAnswer[],
  allowed: readonly number[],
  what: string,
): void {
  const other = answers.filter((a) => !allowed.includes(a.status));
  const sample = other
    .slice(0, 3)
    .map((a) => (a.status === 0 ? `no answer (${a.error})` : `${a.status} ${a.body.slice(0, 80)}`));
  checks.expect(
    other.length === 0,
    `${what}: ${other.length} answer(s) other than ${allowed.join('/')}: ${sample.join('; ')}`,
  );
  // Cashy stops retrying only on the exact body SUCCESS.
  const odd = answers.filter((a) => a.status === 200 && a.body !== 'SUCCESS');
  checks.expect(
    odd.length === 0,
    `${what}: ${odd.length} 200 answer(s) whose body is not SUCCESS (${odd[0]?.body.slice(0, 40)})`,
  );
}
