import { MemoryPayoutStore, PayoutModule, type PayoutRecord } from '../../lib';
import { ADAPTERS, startHostApp } from '../support/host-app';
import { deliver, notification, PEN_ACCOUNT } from '../support/notifications';

/** A memory store that can be switched off, wholly or for writes that record a processed status. */
class FlakyStore extends MemoryPayoutStore {
  down = false;
  failConfirms = false;

  override async get(orderNo: string) {
    if (this.down) throw new Error('connection refused');
    return super.get(orderNo);
  }

  override async compareAndSet(record: PayoutRecord, expectedRevision: number) {
    if (this.down || (this.failConfirms && record.processed.length > 0 && !record.claim))
      throw new Error('connection reset');
    return super.compareAndSet(record, expectedRevision);
  }
}

describe.each(ADAPTERS)('webhook with a failing store on %s', (adapter) => {
  it('answers 503 while the store is down and emits nothing; the retry then succeeds once', async () => {
    const store = new FlakyStore();
    const { app, url, listener } = await startHostApp(
      adapter,
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: [PEN_ACCOUNT],
        store,
      }),
    );
    try {
      const body = notification();
      store.down = true;
      const response = await deliver(`${url}/payout/webhook`, body);
      expect(response.status).toBe(503);
      expect(listener.events).toHaveLength(0);
      store.down = false;
      expect(await deliver(`${url}/payout/webhook`, body)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      expect(listener.events).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('answers 503 while the outcome cannot be recorded, records it as soon as the store is back, and emits once', async () => {
    const store = new FlakyStore();
    const { app, url, listener } = await startHostApp(
      adapter,
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: [PEN_ACCOUNT],
        store,
      }),
    );
    try {
      store.failConfirms = true;
      const body = notification();
      // The listeners ran, but nothing says so in the store: not SUCCESS, so Cashy retries.
      expect((await deliver(`${url}/payout/webhook`, body)).status).toBe(503);
      expect(listener.events).toHaveLength(1);
      store.failConfirms = false;
      // Cashy's retry: the outcome was recorded in the background meanwhile, or waits for it.
      expect(await deliver(`${url}/payout/webhook`, body)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      expect(listener.events).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
