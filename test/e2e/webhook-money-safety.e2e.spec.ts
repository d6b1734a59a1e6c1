import type { INestApplication } from '@nestjs/common';
import { PayoutModule } from '../../lib';
import { ADAPTERS, type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';

/** An account that serves every currency: the market of an order it did not create is unknown. */
const ANY_CURRENCY = { merchantId: '1002009', apiKey: 'any-currency-key-5d2e' };

describe.each(ADAPTERS)('webhook money-safety rules on %s', (adapter) => {
  let app: INestApplication;
  let url: string;
  let listener: RecordingListener;

  beforeAll(async () => {
    ({ app, url, listener } = await startHostApp(
      adapter,
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: [PEN_ACCOUNT, MXN_ACCOUNT, ANY_CURRENCY],
      }),
    ));
    url += '/payout/webhook';
  });
  afterAll(() => app.close());
  beforeEach(() => {
    listener.events.length = 0;
    listener.anomalies.length = 0;
  });

  const mxn = (overrides: Record<string, unknown> = {}) =>
    notification({
      merchantId: MXN_ACCOUNT.merchantId,
      amount: '1500',
      fee: '5',
      ...overrides,
    });
  const acknowledged = async (
    body: Record<string, unknown>,
    account: { merchantId: string; apiKey: string } = PEN_ACCOUNT,
  ) => {
    const response = await deliver(url, body, account);
    expect(response).toMatchObject({ status: 200, text: 'SUCCESS' });
  };

  describe('rule 6: a reversal needs Mexico', () => {
    it('reads SUCCESS → FAIL as an anomaly when the market is unknown, and keeps the amount as sent', async () => {
      const success = notification({
        merchantId: ANY_CURRENCY.merchantId,
        amount: '150.50',
      });
      await acknowledged(success, ANY_CURRENCY);
      await acknowledged(
        { ...success, orderStatus: 'FAIL', resultDesc: 'ACCOUNT_NOT_EXIST' },
        ANY_CURRENCY,
      );
      expect(listener.events.map((e) => [e.name, e.payload.amount])).toEqual([
        ['payout.succeeded', '150.50'],
      ]);
      expect(listener.anomalies).toHaveLength(1);
      expect(listener.anomalies[0]).toMatchObject({
        kind: 'transition',
        previousStatus: 'SUCCESS',
        status: 'FAIL',
        orderNo: success.orderNo,
      });
      expect(listener.anomalies[0].reason).toMatch(/market is unknown/);
    });

    it('reads SUCCESS → FAIL on a Peruvian account as an anomaly', async () => {
      const success = notification();
      await acknowledged(success);
      await acknowledged({ ...success, orderStatus: 'FAIL' });
      expect(listener.events.map((e) => e.name)).toEqual(['payout.succeeded']);
      expect(listener.anomalies.map((a) => a.kind)).toEqual(['transition']);
    });

    it('still emits a Mexican SPEI return as payout.failed with reversed: true', async () => {
      const success = mxn();
      await acknowledged(success, MXN_ACCOUNT);
      await acknowledged(
        { ...success, orderStatus: 'FAIL', resultDesc: 'ACCOUNT_NOT_EXIST' },
        MXN_ACCOUNT,
      );
      expect(
        listener.events.map((e) => [e.name, (e.payload as { reversed?: boolean }).reversed]),
      ).toEqual([
        ['payout.succeeded', undefined],
        ['payout.failed', true],
      ]);
      expect(listener.anomalies).toHaveLength(0);
    });
  });

  describe('rule 7: anomalies are events', () => {
    it('emits one payout.anomaly for FAIL → SUCCESS, acknowledges it, and emits nothing for its repeats', async () => {
      const fail = notification({
        orderStatus: 'FAIL',
        resultDesc: 'ACCOUNT_NOT_EXIST',
      });
      await acknowledged(fail);
      const success = {
        ...fail,
        orderStatus: 'SUCCESS',
        resultDesc: 'SUCCESS',
      };
      for (let i = 0; i < 3; i++) await acknowledged(success);
      expect(listener.events.map((e) => e.name)).toEqual(['payout.failed']);
      expect(listener.anomalies).toHaveLength(1);
      expect(listener.anomalies[0]).toMatchObject({
        kind: 'transition',
        merchantId: PEN_ACCOUNT.merchantId,
        mchOrderNo: fail.mchOrderNo,
        orderNo: fail.orderNo,
        previousStatus: 'FAIL',
        status: 'SUCCESS',
        raw: success,
      });
    });

    it('emits an anomaly, not an outcome, for a notification signed by another merchant than the order was created under', async () => {
      const processing = notification({
        orderStatus: 'PROCESSING',
        fee: null,
        completionTime: null,
      });
      await acknowledged(processing);
      const success = {
        ...processing,
        orderStatus: 'SUCCESS',
        merchantId: MXN_ACCOUNT.merchantId,
      };
      await acknowledged(success, MXN_ACCOUNT);
      expect(listener.events).toHaveLength(0);
      expect(listener.anomalies.map((a) => [a.kind, a.merchantId])).toEqual([
        ['merchant', MXN_ACCOUNT.merchantId],
      ]);
      expect(listener.anomalies[0].reason).toMatch(/created under merchant 1002001/);
    });

    it('emits an anomaly for a body whose merchantId is not the signer', async () => {
      await acknowledged(notification({ merchantId: MXN_ACCOUNT.merchantId }), PEN_ACCOUNT);
      expect(listener.events).toHaveLength(0);
      expect(listener.anomalies.map((a) => a.kind)).toEqual(['merchant']);
    });

    it('emits an anomaly for the same orderNo under another mchOrderNo (never a payout.failed for an order never paid)', async () => {
      const first = mxn({ mchOrderNo: `MX-A-${adapter}` });
      await acknowledged(first, MXN_ACCOUNT);
      await acknowledged(
        {
          ...first,
          mchOrderNo: `MX-B-${adapter}`,
          orderStatus: 'FAIL',
          resultDesc: 'ACCOUNT_NOT_EXIST',
        },
        MXN_ACCOUNT,
      );
      expect(listener.events.map((e) => [e.name, e.payload.mchOrderNo])).toEqual([
        ['payout.succeeded', `MX-A-${adapter}`],
      ]);
      expect(listener.anomalies.map((a) => [a.kind, a.mchOrderNo])).toEqual([
        ['mchOrderNo', `MX-B-${adapter}`],
      ]);
    });

    it('keeps treating a second orderNo under one mchOrderNo as an anomaly, whatever status it reports first', async () => {
      const first = notification({ mchOrderNo: `TWO-ORDERS-${adapter}` });
      await acknowledged(first);
      const second = notification({
        mchOrderNo: `TWO-ORDERS-${adapter}`,
        orderStatus: 'PAYING',
        fee: null,
      });
      await acknowledged(second);
      await acknowledged({ ...second, orderStatus: 'SUCCESS', fee: '1.50' });
      expect(listener.events.map((e) => [e.name, e.payload.orderNo])).toEqual([
        ['payout.succeeded', first.orderNo],
      ]);
      expect(listener.anomalies.map((a) => [a.kind, a.status])).toEqual([
        ['mchOrderNo', 'PAYING'],
        ['mchOrderNo', 'SUCCESS'],
      ]);
    });

    it('emits an anomaly for an amount other than the recorded one', async () => {
      const processing = notification({
        orderStatus: 'PROCESSING',
        amount: '150.50',
        fee: null,
      });
      await acknowledged(processing);
      await acknowledged({
        ...processing,
        orderStatus: 'SUCCESS',
        amount: '1505.00',
        fee: '1.50',
      });
      expect(listener.events).toHaveLength(0);
      expect(listener.anomalies.map((a) => a.kind)).toEqual(['amount']);
      // The same amount written another way is the same amount.
      const other = notification({
        orderStatus: 'PROCESSING',
        amount: '150.5',
        fee: null,
      });
      await acknowledged(other);
      await acknowledged({ ...other, orderStatus: 'SUCCESS', amount: 150.5 });
      expect(listener.events.map((e) => [e.name, e.payload.amount])).toEqual([
        ['payout.succeeded', '150.50'],
      ]);
    });

    it('acknowledges an undocumented orderStatus with an anomaly instead of a 400 Cashy would retry for hours', async () => {
      await acknowledged(notification({ orderStatus: 'REFUNDED' }));
      expect(listener.events).toHaveLength(0);
      expect(listener.anomalies.map((a) => [a.kind, a.status])).toEqual([['status', 'REFUNDED']]);
    });
  });

  describe('rule 8: webhooks accept what identifies an outcome', () => {
    it.each([
      ['a null amount and fee', { amount: null, fee: null }],
      ['an empty amount and fee', { amount: '', fee: '' }],
      ['no amount and no fee', { amount: undefined, fee: undefined }],
    ])('accepts a FAIL with %s and emits payout.failed', async (_case, fields) => {
      await acknowledged(
        notification({
          orderStatus: 'FAIL',
          resultDesc: 'ACCOUNT_NOT_EXIST',
          ...fields,
        }),
      );
      expect(listener.events).toHaveLength(1);
      expect(listener.events[0]).toMatchObject({
        name: 'payout.failed',
        payload: { amount: null, fee: null, reason: 'ACCOUNT_NOT_EXIST' },
      });
    });

    it('accepts a CANCEL without an amount, a numeric completionTime and a numeric resultDesc', async () => {
      await acknowledged(
        notification({
          orderStatus: 'CANCEL',
          amount: undefined,
          completionTime: 1735725600000,
          resultDesc: 7,
        }),
      );
      expect(listener.events).toHaveLength(1);
      expect(listener.events[0]).toMatchObject({
        name: 'payout.failed',
        payload: {
          status: 'CANCEL',
          completionTime: '1735725600000',
          resultDesc: null,
        },
      });
    });

    it('refuses a SUCCESS with a negative amount with 400, whatever the adapter', async () => {
      const response = await deliver(url, notification({ amount: '-150.50' }));
      expect(response.status).toBe(400);
      expect(listener.events).toHaveLength(0);
      expect(listener.anomalies).toHaveLength(0);
    });
  });
});
