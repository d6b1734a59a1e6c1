import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An order the gateway created. */
export interface LateCommitOrder {
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  amount: string;
  orderStatus: string;
  resultDesc?: string;
}

/** A lookup whose answer the test holds: what the gateway read when it arrived, and the hand to release it. */
export interface HeldLookup {
  mchOrderNo: string;
  /** Whether the gateway had the order when it read the lookup. */
  foundAtRead: boolean;
  /** Sends the answer the gateway read at arrival. */
  release(): void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A Cashy gateway at its worst for rule 3, driven step by step by the test: it does not dedupe
 * `mchOrderNo`; a create it is told to `hang` is never answered and only lands when the test calls
 * `commitHung()`; and a lookup it is told to hold is read on arrival but answered only on
 * `release()`. No timing is left to luck.
 */
export class LateCommitGateway {
  readonly orders: LateCommitOrder[] = [];
  /** payOut requests received, in order. */
  payOuts = 0;
  /** payOutQuery requests received, in order. */
  lookups = 0;
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
  private readonly hungCreates: Record<string, unknown>[] = [];
  private readonly heldWaiters: Deferred<HeldLookup>[] = [];
  private readonly heldUnclaimed: HeldLookup[] = [];
  private readonly openResponses = new Set<ServerResponse>();
  private server?: Server;
  private seq = 0;

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

  /** Resolves with the next held lookup once it has arrived and been read. */
  nextHeldLookup(): Promise<HeldLookup> {
    const arrived = this.heldUnclaimed.shift();
    if (arrived) return Promise.resolve(arrived);
    const waiter = deferred<HeldLookup>();
    this.heldWaiters.push(waiter);
    return waiter.promise;
  }

  /** The hung creates land now, as a gateway committing late would. */
  commitHung(): void {
    for (const body of this.hungCreates.splice(0)) this.create(body);
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

  /** Moves every order of `mchOrderNo` to `orderStatus` (as the bank's answer would). */
  setStatus(mchOrderNo: string, orderStatus: string, resultDesc?: string): void {
    for (const order of this.ordersOf(mchOrderNo)) {
      order.orderStatus = orderStatus;
      if (resultDesc !== undefined) order.resultDesc = resultDesc;
    }
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

  ordersOf(mchOrderNo: string): LateCommitOrder[] {
    return this.orders.filter((o) => o.mchOrderNo === mchOrderNo);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.openResponses) res.socket?.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      body.merchantId ??= req.headers.merchantid;
      if (req.url === '/api/payOut') return this.payOut(body, res);
      if (req.url === '/api/payOutQuery') return this.payOutQuery(body, res);
      this.answer(res, { code: 404, msg: 'Route_not_found' });
    });
  }

  private payOut(body: Record<string, unknown>, res: ServerResponse): void {
    this.payOuts++;
    if (this.dropCreates > 0) {
      this.dropCreates--;
      this.hungCreates.push(body);
      res.socket?.destroy();
      return;
    }
    if (this.hangCreates > 0) {
      this.hangCreates--;
      this.hungCreates.push(body);
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

  private payOutQuery(body: Record<string, unknown>, res: ServerResponse): void {
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
    this.openResponses.add(res);
    const held: HeldLookup = {
      mchOrderNo,
      foundAtRead: found !== undefined,
      release: () => this.answer(res, reply),
    };
    const waiter = this.heldWaiters.shift();
    if (waiter) waiter.resolve(held);
    else this.heldUnclaimed.push(held);
  }

  private create(body: Record<string, unknown>): LateCommitOrder {
    const order: LateCommitOrder = {
      orderNo: `LC${++this.seq}`,
      mchOrderNo: String(body.mchOrderNo),
      merchantId: String(body.merchantId ?? ''),
      amount: String(body.amount),
      orderStatus: 'PROCESSING',
    };
    this.orders.push(order);
    return order;
  }

  private view(order: LateCommitOrder): Record<string, unknown> {
    return {
      ...order,
      fee: null,
      completionTime: null,
    };
  }

  private answer(res: ServerResponse, envelope: unknown): void {
    this.openResponses.delete(res);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(envelope));
  }
}
