import { Injectable } from '@nestjs/common';
import {
  OnPayoutNotCreated,
  PAYOUT_STORE,
  type PayoutStore,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { freePort, samplePayout } from '../../lib/testing';
import { type SandboxHost, startSandboxHost } from '../support/sandbox-host';

@Injectable()
class NotCreatedRecorder {
  readonly events: { at: number; event: PayoutNotCreatedEvent }[] = [];
  @OnPayoutNotCreated()
  record(event: PayoutNotCreatedEvent): void {
    this.events.push({ at: Date.now(), event });
  }
}

/** Reconciliation that checks at once and often, so a test sees it within a second. */
const FAST = {
  intervalMs: 20,
  firstCheckMs: 0,
  maxIntervalMs: 50,
  leaseMs: 500,
};

describe('built-in reconciliation: no lost outcome without host code', () => {
  let host: SandboxHost | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it('emits a payout whose webhooks are all lost, exactly once, from the sweep, and stops tracking it', async () => {
    // Webhooks go to a port nobody listens on: every delivery is lost.
    host = await startSandboxHost(
      {},
      {
        notifyUrl: `http://127.0.0.1:${await freePort()}/payout/webhook`,
        reconciliation: FAST,
      },
    );
    const inputs = [
      samplePayout('PEN', { mchOrderNo: 'LOST-1' }),
      samplePayout('MXN', { mchOrderNo: 'LOST-2', remark: 'FAIL' }),
    ];
    for (const input of inputs) await host.payouts.createPayout(input);
    await host.sandbox.waitFor(
      () => host!.eventsFor('LOST-1').length === 1 && host!.eventsFor('LOST-2').length === 1,
      15_000,
    );
    await new Promise((r) => setTimeout(r, 200)); // many more sweeps
    expect(host.eventsFor('LOST-1').map((e) => e.name)).toEqual(['payout.succeeded']);
    expect(host.eventsFor('LOST-2').map((e) => e.name)).toEqual(['payout.failed']);
    // The webhooks were sent and every one was lost (not merely never sent).
    expect(host.sandbox.deliveries.length).toBeGreaterThan(0);
    expect(host.sandbox.deliveries.every((d) => !d.acknowledged)).toBe(true);
    expect(await host.payouts.listOpenPayouts()).toEqual([]);
  });

  it('emits the outcome of a create whose own lookup already saw it final, when its webhooks are lost', async () => {
    host = await startSandboxHost(
      { processingMs: 1, payingMs: 1 },
      {
        notifyUrl: `http://127.0.0.1:${await freePort()}/payout/webhook`,
        timeoutMs: 100,
        reconciliation: FAST,
      },
    );
    host.sandbox.injectFaults({
      mode: 'timeout-after-create',
      count: 1,
      endpoints: ['payOut'],
    });
    const order = await host.payouts.createPayout(
      samplePayout('PEN', { mchOrderNo: 'FINAL-AT-LOOKUP' }),
    );
    expect(order.orderStatus).toBe('SUCCESS');
    await host.sandbox.waitFor(() => host!.eventsFor('FINAL-AT-LOOKUP').length === 1, 15_000);
    expect(host.eventsFor('FINAL-AT-LOOKUP').map((e) => e.name)).toEqual(['payout.succeeded']);
  });

  it('emits once when webhooks and the sweep race on the same orders', async () => {
    host = await startSandboxHost(
      { processingMs: 5, payingMs: 5 },
      { reconciliation: { ...FAST, intervalMs: 10 } },
    );
    const inputs = Array.from({ length: 30 }, (_, i) =>
      samplePayout(i % 2 ? 'MXN' : 'PEN', { mchOrderNo: `RACE-${i}` }),
    );
    // On a loaded machine a create may time out (150 ms): the sweep settles those too.
    const created = await Promise.allSettled(
      inputs.map((input) => host!.payouts.createPayout(input)),
    );
    for (const result of created)
      if (result.status === 'rejected')
        expect(result.reason).toBeInstanceOf(PayoutOutcomeUnknownError);
    await host.sandbox.waitFor(
      () => inputs.every((input) => host!.eventsFor(input.mchOrderNo).length >= 1),
      15_000,
    );
    await host.sandbox.idle(10_000);
    await new Promise((r) => setTimeout(r, 100));
    for (const input of inputs)
      expect([input.mchOrderNo, host.eventsFor(input.mchOrderNo).length]).toEqual([
        input.mchOrderNo,
        1,
      ]);
  });

  it('settles an unknown outcome that was in fact created with its outcome event', async () => {
    // The window outlasts the call, so only the sweep's checks meet the remaining query timeouts.
    host = await startSandboxHost(
      {},
      {
        notifyUrl: `http://127.0.0.1:${await freePort()}/payout/webhook`,
        resendWindowMs: 1_500,
        reconciliation: FAST,
      },
    );
    host.sandbox.injectFaults({
      mode: 'timeout-after-create',
      count: 1,
      endpoints: ['payOut'],
    });
    host.sandbox.injectFaults({
      mode: 'timeout',
      count: 8,
      endpoints: ['payOutQuery'],
    });
    const input = samplePayout('PEN', { mchOrderNo: 'UNKNOWN-CREATED' });
    await expect(host.payouts.createPayout(input)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    await host.sandbox.waitFor(() => host!.eventsFor('UNKNOWN-CREATED').length === 1, 15_000);
    expect(host.eventsFor('UNKNOWN-CREATED').map((e) => e.name)).toEqual(['payout.succeeded']);
    expect(host.sandbox.ordersByMchOrderNo('UNKNOWN-CREATED')).toHaveLength(1);
  });

  it('reports an unknown outcome that was not created with payout.not_created once, never inside the window', async () => {
    const windowMs = 400;
    host = await startSandboxHost(
      {},
      { resendWindowMs: windowMs, reconciliation: FAST },
      { providers: [NotCreatedRecorder] },
    );
    host.sandbox.injectFaults({
      mode: 'timeout',
      count: 1,
      endpoints: ['payOut'],
    });
    const input = samplePayout('PEN', { mchOrderNo: 'UNKNOWN-ABSENT' });
    await expect(host.payouts.createPayout(input)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // The window runs from the end of the ambiguous attempt, as recorded.
    const attempt = await host.app.get<PayoutStore>(PAYOUT_STORE).getAttempt('UNKNOWN-ABSENT');
    expect(attempt).toMatchObject({ state: 'unknown' });
    const recorder = host.app.get(NotCreatedRecorder);
    await host.sandbox.waitFor(() => recorder.events.length === 1, 15_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(recorder.events).toHaveLength(1);
    expect(recorder.events[0].at).toBeGreaterThanOrEqual(attempt!.resendAfter);
    expect(recorder.events[0].event).toMatchObject({
      mchOrderNo: 'UNKNOWN-ABSENT',
      currency: 'PEN',
      amount: '150.50',
      merchantId: host.sandbox.account('PEN').merchantId,
    });
    expect(host.sandbox.ordersByMchOrderNo('UNKNOWN-ABSENT')).toHaveLength(0);
    expect(host.eventsFor('UNKNOWN-ABSENT')).toHaveLength(0);
    // The host may now send it again, at once, with the same mchOrderNo.
    await expect(host.payouts.createPayout(input)).resolves.toMatchObject({
      mchOrderNo: 'UNKNOWN-ABSENT',
    });
    expect(host.sandbox.ordersByMchOrderNo('UNKNOWN-ABSENT')).toHaveLength(1);
  });

  it('lists what is open, oldest first, and runs no sweep when turned off', async () => {
    host = await startSandboxHost({ autoSettle: false }, { reconciliation: false });
    for (let i = 0; i < 3; i++)
      await host.payouts.createPayout(samplePayout('PEN', { mchOrderNo: `OPEN-${i}` }));
    const open = await host.payouts.listOpenPayouts({ limit: 2 });
    expect(open.map((o) => [o.mchOrderNo, o.state, o.currency, o.amount])).toEqual([
      ['OPEN-0', 'created', 'PEN', '150.50'],
      ['OPEN-1', 'created', 'PEN', '150.50'],
    ]);
    expect(
      (await host.payouts.listOpenPayouts({ after: open[1].cursor })).map((o) => o.mchOrderNo),
    ).toEqual(['OPEN-2']);
    const queries = () =>
      host!.sandbox.requests.filter((r) => r.endpoint === '/api/payOutQuery').length;
    await new Promise((r) => setTimeout(r, 100));
    expect(queries()).toBe(0);
    // A host may still drive a sweep itself.
    const summary = await host.app.get(PayoutReconciliationService).sweep();
    expect(summary).toMatchObject({ open: 0 });
  });
});
