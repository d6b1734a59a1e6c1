import type { ServerResponse } from 'node:http';
import { FakeCashyGateway } from './fake-cashy-gateway';

export type { FakeOrder as LateCommitOrder, HeldLookup } from './fake-cashy-gateway';

/**
 * A Cashy gateway at its worst for rule 3, driven step by step by the test: it does not dedupe
 * `mchOrderNo`; a create it is told to `hang` is never answered and only lands when the test calls
 * `commitHung()`; and a lookup it is told to hold is read on arrival but answered only on
 * `release()`. No timing is left to luck.
 */
export class LateCommitGateway extends FakeCashyGateway {
  /** How long every lookup's answer takes (a slow gateway), in ms. */
  lookupDelayMs = 0;
  /** Awaited before a create is answered (after it was processed), when set. */
  beforeCreateAnswer?: () => Promise<void>;
  private rejectCreates: string[] = [];
  private readonly lookupLog: string[] = [];
  private hangCreates = 0;
  private holdLookups = 0;
  private hangLookups = 0;
  private dropCreates = 0;

  constructor() {
    super('LC');
  }

  /** The next `count` creates are received and never answered (they land on `commitHung()`). */
  hangNextCreates(count = 1): this {
    this.hangCreates += count;
    return this;
  }

  /** The next `count` lookups are read at arrival and answered on `release()`. */
  holdNextLookups(count = 1): this {
    this.holdLookups += count;
    return this;
  }

  /** The next `count` creates are received, their connection reset at once (they land on `commitHung()`). */
  dropNextCreates(count = 1): this {
    this.dropCreates += count;
    return this;
  }

  /** The next `count` creates are refused with the published rejection `msg`; nothing is created. */
  rejectNextCreates(count: number, msg: string): this {
    for (let i = 0; i < count; i++) this.rejectCreates.push(msg);
    return this;
  }

  /** payOutQuery requests received for `mchOrderNo`. */
  lookupsOf(mchOrderNo: string): number {
    return this.lookupLog.filter((m) => m === mchOrderNo).length;
  }

  /** The next `count` lookups hang until the client gives up (a gateway that lags). */
  hangNextLookups(count = 1): this {
    this.hangLookups += count;
    return this;
  }

  protected payOut(body: Record<string, unknown>, res: ServerResponse): void {
    this.payOuts++;
    if (this.dropCreates > 0) {
      this.dropCreates--;
      this.hung.push(body);
      res.socket?.destroy();
      return;
    }
    if (this.hangCreates > 0) {
      this.hangCreates--;
      this.hung.push(body);
      this.openResponses.add(res);
      return;
    }
    const rejection = this.rejectCreates.shift();
    const envelope =
      rejection !== undefined
        ? { code: 400, msg: rejection }
        : { code: 200, msg: 'SUCCESS', data: this.view(this.create(body)) };
    if (!this.beforeCreateAnswer) return this.answer(res, envelope);
    this.openResponses.add(res);
    void this.beforeCreateAnswer().then(() => this.answer(res, envelope));
  }

  protected payOutQuery(body: Record<string, unknown>, res: ServerResponse): void {
    this.lookups++;
    this.lookupLog.push(String(body.mchOrderNo));
    if (this.hangLookups > 0) {
      this.hangLookups--;
      this.openResponses.add(res);
      return;
    }
    const mchOrderNo = String(body.mchOrderNo);
    // Read now: the answer says what the gateway had at this moment, however late it is sent.
    const found = this.ordersOf(mchOrderNo)[0];
    const reply = found
      ? { code: 200, msg: 'SUCCESS', data: this.view(found) }
      : { code: 400, msg: 'Order_not_exist' };
    if (this.holdLookups === 0) {
      if (this.lookupDelayMs === 0) return this.answer(res, reply);
      this.openResponses.add(res);
      setTimeout(() => this.answer(res, reply), this.lookupDelayMs);
      return;
    }
    this.holdLookups--;
    this.hold(res, mchOrderNo, found !== undefined, reply);
  }
}
