import { randomBytes } from 'node:crypto';
import { CaseChecks, type CaseRow, fmt } from './case.result';
import type { StressHost } from './host.app';
import { keepAliveAgent, post, type PostAnswer } from './http.client';
import { signedNotifications } from './notifications.fixture';
import { median, permutationNoise, round, seededRandom, shuffle } from './stats.util';

/** Options of the signature-timing case. */
export interface SignatureTimingOptions {
  /** Requests per group (first hex digit right, first hex digit wrong). */
  perGroup: number;
  warmup: number;
  /** Relabellings for the noise estimate, and the quantile of them taken as the threshold. */
  permutations: number;
  quantile: number;
  /** Differences below this many µs are treated as noise whatever the estimate (clock and scheduler granularity). */
  floorUs: number;
  seed: number;
}

const HEX = '0123456789ABCDEF';

/** A hex digit other than `digit`. */
function otherDigit(digit: string, random: () => number): string {
  const choices = HEX.replace(digit.toUpperCase(), '');
  return choices[Math.floor(random() * choices.length)];
}

/**
 * Wrong `Sign` values in two interleaved groups, one request at a time on one keep-alive
 * connection: the first hex digit right (then wrong from the second on) or wrong from the first. A
 * comparison that stops at the first different digit answers the first group later. Both groups
 * share their 31-digit tails, the body and the order of arrival is shuffled, so only the first digit
 * differs. The verdict compares the difference of the median response times with what shuffling the
 * group labels produces (a permutation test), floored at `floorUs`.
 */
export async function signatureTimingCase(
  host: StressHost,
  options: SignatureTimingOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks('signature timing', host.adapter, host.store);
  const random = seededRandom(options.seed);
  const [notification] = signedNotifications(`T${host.adapter[0]}`.toUpperCase(), 1);
  const right = notification.headers.Sign;
  checks.expect(/^[0-9A-F]{32}$/.test(right), `Sign ${right} is not 32 upper-case hex digits`);

  // Pairs share a tail whose first digit is wrong too, so the "right first digit" group is wrong from index 1.
  const requests: { group: 'first-right' | 'first-wrong'; sign: string }[] = [];
  for (let i = 0; i < options.perGroup; i++) {
    const tail = otherDigit(right[1], random) + randomBytes(15).toString('hex').toUpperCase();
    requests.push(
      { group: 'first-right', sign: right[0] + tail },
      { group: 'first-wrong', sign: otherDigit(right[0], random) + tail },
    );
  }
  shuffle(requests, random);

  const agent = keepAliveAgent(1);
  try {
    const send = (sign: string): Promise<PostAnswer> =>
      post(agent, host.webhookUrl, { ...notification.headers, Sign: sign }, notification.body);
    for (let i = 0; i < options.warmup; i++) await send(requests[i % requests.length].sign);
    const times = {
      'first-right': [] as number[],
      'first-wrong': [] as number[],
    };
    let other = 0;
    for (const request of requests) {
      const answer = await send(request.sign);
      if (answer.status !== 401) other++;
      times[request.group].push(answer.ms * 1000);
    }
    checks.expect(other === 0, `${other} answer(s) other than 401 to a wrong Sign`);
    checks.expect(host.listener.count(notification.orderNo) === 0, 'a wrong Sign emitted an event');

    const medianRight = median(times['first-right']);
    const medianWrong = median(times['first-wrong']);
    const difference = medianRight - medianWrong;
    const noise = permutationNoise(
      times['first-right'],
      times['first-wrong'],
      options.permutations,
      options.quantile,
      random,
    );
    const threshold = Math.max(noise, options.floorUs);
    checks.expect(
      Math.abs(difference) <= threshold,
      `median difference ${round(difference, 2)} µs exceeds the noise threshold ${round(threshold, 2)} µs`,
    );
    Object.assign(checks.details, {
      ...options,
      medianFirstRightUs: round(medianRight, 2),
      medianFirstWrongUs: round(medianWrong, 2),
      differenceUs: round(difference, 2),
      noiseUs: round(noise, 2),
      thresholdUs: round(threshold, 2),
    });
    return checks.row(
      `${fmt(options.perGroup)} wrong Signs per group, all 401: median ${round(medianRight, 1)} µs (1st digit right) vs ${round(medianWrong, 1)} µs (wrong); Δ ${round(difference, 2)} µs, threshold ${round(threshold, 2)} µs (p${options.quantile} of ${fmt(options.permutations)} label shuffles, floor ${options.floorUs} µs)`,
    );
  } finally {
    agent.destroy();
  }
}
