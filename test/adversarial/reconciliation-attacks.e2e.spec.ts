import { Injectable } from '@nestjs/common';
import { OnPayoutNotCreated, PayoutNotCreatedEvent, type PayoutAttempt } from '../../lib';
import { MemoryPayoutStore } from '../../lib/store/memory-payout.store';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { samplePayout } from '../../lib/testing';
import { type SandboxHost, startSandboxHost } from '../support/sandbox-host';

@Injectable()
class NotCreatedRecorder {
  readonly events: PayoutNotCreatedEvent[] = [];
  @OnPayoutNotCreated()
  record(event: PayoutNotCreatedEvent): void {
    this.events.push(event);
  }
}

/**
 * A memory store whose `hook` runs inside one `getAttempt`, after the value was read and before it
 * is returned: another replica's write landing between a read and the write based on it.
 */
class RacyStore extends MemoryPayoutStore {
  getAttemptCalls = 0;
  hook?: (call: number) => Promise<void>;
  override async getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined> {
    const value = await super.getAttempt(mchOrderNo);
    this.getAttemptCalls++;
    if (this.hook) await this.hook(this.getAttemptCalls);
    return value;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('adversarial: built-in reconciliation', () => {
  let host: SandboxHost | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it('never emits payout.not_created for a create another caller is sending right now (confirmAbsent re-reads and overwrites a fresh "sending" attempt)', async () => {
    const store = new RacyStore();
    host = await startSandboxHost(
      {},
      { store, resendWindowMs: 200 },
      { providers: [NotCreatedRecorder] },
    );
    const recorder = host.app.get(NotCreatedRecorder);
    const sweeper = host.app.get(PayoutReconciliationService);
    const input = samplePayout('PEN', { mchOrderNo: 'RACE-1' });
    const merchantId = host.sandbox.account('PEN').merchantId;

    // An earlier create ended "unknown" and never landed; its re-send window is over.
    const past = Date.now() - 10_000;
    await store.compareAndSetAttempt(
      {
        mchOrderNo: 'RACE-1',
        merchantId,
        currency: 'PEN',
        amount: '150.50',
        state: 'unknown',
        resendAfter: past + 1_000,
        revision: 1,
        updatedAt: past,
      },
      0,
    );
    await store.trackOpen('RACE-1', past, 0);

    // Sweep: check() getAttempt (1), knownOrder getAttempt (2), confirmAbsent getAttempt (3).
    // Between confirmAbsent's read and markRejected's write, the host (or another replica) sends the
    // create again, as it may after the window: it looks up (not found) and marks it "sending".
    let create: Promise<unknown> | undefined;
    store.getAttemptCalls = 0;
    store.hook = async (call) => {
      if (call !== 3) return;
      store.hook = undefined;
      create = host!.payouts.createPayout(input).catch((e: unknown) => e);
      // A generous bound: on a loaded machine the create's lookup alone can take a while.
      for (const giveUpAt = Date.now() + 10_000; Date.now() < giveUpAt;) {
        const now = await MemoryPayoutStore.prototype.getAttempt.call(store, 'RACE-1');
        if (now?.state === 'sending') return;
        await sleep(2);
      }
      throw new Error('the second create never reached "sending"');
    };
    const summary = await sweeper.sweep();
    await create;
    await host.sandbox
      .waitFor(() => host!.eventsFor('RACE-1').length >= 1, 5_000)
      .catch(() => undefined);

    const orders = host.sandbox.ordersByMchOrderNo('RACE-1');
    // The order exists at the gateway (the create landed) ...
    expect(orders).toHaveLength(1);
    // ... so telling the host it was not created (it may send it again, or give up on money that left) is wrong.
    expect({
      summary,
      notCreated: recorder.events.map((e) => e.mchOrderNo),
    }).toEqual({
      // The sweep's one check of RACE-1 ends "unknown" (checked again later), never "not created".
      summary: expect.objectContaining({ unknown: 1, not_created: 0 }),
      notCreated: [],
    });
  });
});
