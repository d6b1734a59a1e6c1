import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An order a fake gateway created. */
export interface FakeOrder {
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  amount: string;
  orderStatus: string;
  resultDesc?: string;
}

/** A lookup whose answer the test holds: what the gateway read when it arrived, and the hand to release it. */
export interface HeldLookup {
  mchOrderNo?: string;
  /** Whether the gateway had the order when it read the lookup. */
  foundAtRead: boolean;
  /** Sends the answer the gateway read at arrival. */
  release(): void;
}

/**
 * What the scripted Cashy gateways of the tests share: an order book that does not dedupe
 * `mchOrderNo`, creates that land late (`commitHung()`), lookups held until the test releases them,
 * and the HTTP plumbing. Subclasses decide how each create and lookup is answered.
 */
export abstract class FakeCashyGateway {
  readonly orders: FakeOrder[] = [];
  /** payOut requests received. */
  payOuts = 0;
  /** payOutQuery requests received. */
  lookups = 0;
  /** Creates received that land only on `commitHung()`. */
  protected readonly hung: Record<string, unknown>[] = [];
  protected readonly openResponses = new Set<ServerResponse>();
  private readonly heldWaiters: ((held: HeldLookup) => void)[] = [];
  private readonly heldUnclaimed: HeldLookup[] = [];
  private server?: Server;
  private seq = 0;

  /** @param orderPrefix how this gateway's orderNos start (`LC1`, `HG1` …). */
  constructor(private readonly orderPrefix: string) {}

  protected abstract payOut(body: Record<string, unknown>, res: ServerResponse): void;
  protected abstract payOutQuery(body: Record<string, unknown>, res: ServerResponse): void;

  /** Resolves with the next held lookup once it has arrived and been read. */
  nextHeldLookup(): Promise<HeldLookup> {
    const arrived = this.heldUnclaimed.shift();
    if (arrived) return Promise.resolve(arrived);
    return new Promise((resolve) => this.heldWaiters.push(resolve));
  }

  /** The hung creates land now, as a gateway committing late would. */
  commitHung(): void {
    for (const body of this.hung.splice(0)) this.create(body);
  }

  ordersOf(mchOrderNo: string): FakeOrder[] {
    return this.orders.filter((o) => o.mchOrderNo === mchOrderNo);
  }

  /** Moves every order of `mchOrderNo` to `orderStatus` (as the bank's answer would). */
  setStatus(mchOrderNo: string, orderStatus: string, resultDesc?: string): void {
    for (const order of this.ordersOf(mchOrderNo)) {
      order.orderStatus = orderStatus;
      if (resultDesc !== undefined) order.resultDesc = resultDesc;
    }
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

  protected create(body: Record<string, unknown>): FakeOrder {
    const order: FakeOrder = {
      orderNo: `${this.orderPrefix}${++this.seq}`,
      mchOrderNo: String(body.mchOrderNo),
      merchantId: String(body.merchantId ?? ''),
      amount: String(body.amount),
      orderStatus: 'PROCESSING',
    };
    this.orders.push(order);
    return order;
  }

  /** An order as payOut and payOutQuery answer it. */
  protected view(order: FakeOrder): Record<string, unknown> {
    return { ...order, fee: null, completionTime: null };
  }

  protected answer(res: ServerResponse, envelope: unknown): void {
    this.openResponses.delete(res);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(envelope));
  }

  /** Keeps `reply` (read now) until the test releases the held lookup. */
  protected hold(
    res: ServerResponse,
    mchOrderNo: string | undefined,
    foundAtRead: boolean,
    reply: unknown,
  ): void {
    this.openResponses.add(res);
    const held: HeldLookup = { mchOrderNo, foundAtRead, release: () => this.answer(res, reply) };
    const waiter = this.heldWaiters.shift();
    if (waiter) waiter(held);
    else this.heldUnclaimed.push(held);
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
}
