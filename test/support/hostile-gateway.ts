import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the gateway does with one create. */
export type CreateBehaviour =
  | 'ok' // creates and answers
  | 'hang' // never answered; lands on commitHung()
  | 'drop-land' // connection reset at once; lands on commitHung()
  | 'drop' // connection reset at once; never lands
  | 'busy' // System_busy, nothing created
  | 'reject'; // Params_amount_error, nothing created

/** What the gateway does with one lookup. */
export type LookupBehaviour =
  | 'ok' // answers what it has, read now
  | 'hold' // read now, answered on release()
  | 'lie-absent' // answers Order_not_exist whatever it has
  | 'fail'; // answers an error (MerchantId_error)

export interface Order {
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  amount: string;
  orderStatus: string;
}

export interface Held {
  mchOrderNo?: string;
  foundAtRead: boolean;
  release(): void;
}

/**
 * A scripted hostile Cashy for the review: no mchOrderNo dedupe; per-request behaviours queued by
 * the test; lookups keyed by orderNo when one is given (an orderNo it does not know is "not found",
 * whatever the mchOrderNo), else by mchOrderNo.
 */
export class HostileGateway {
  readonly orders: Order[] = [];
  payOuts = 0;
  lookups = 0;
  readonly createLog: { mchOrderNo: string; behaviour: CreateBehaviour }[] = [];
  private readonly creates: CreateBehaviour[] = [];
  private readonly lookupsQ: LookupBehaviour[] = [];
  /** When set, every lookup not otherwise scripted behaves so. */
  defaultLookup: LookupBehaviour = 'ok';
  /** Rewrites every lookup's answer (a gateway answering about another order). */
  rewriteLookup?: (mchOrderNo: string | undefined) => Record<string, unknown> | undefined;
  private readonly hung: Record<string, unknown>[] = [];
  private readonly openResponses = new Set<ServerResponse>();
  private readonly heldWaiters: ((h: Held) => void)[] = [];
  private readonly heldUnclaimed: Held[] = [];
  private readonly createWaiters: (() => void)[] = [];
  private server?: Server;
  private seq = 0;

  nextCreates(...b: CreateBehaviour[]): this {
    this.creates.push(...b);
    return this;
  }
  nextLookups(...b: LookupBehaviour[]): this {
    this.lookupsQ.push(...b);
    return this;
  }
  nextHeld(): Promise<Held> {
    const h = this.heldUnclaimed.shift();
    if (h) return Promise.resolve(h);
    return new Promise((r) => this.heldWaiters.push(r));
  }
  commitHung(): void {
    for (const body of this.hung.splice(0)) this.create(body);
  }
  ordersOf(mchOrderNo: string): Order[] {
    return this.orders.filter((o) => o.mchOrderNo === mchOrderNo);
  }
  setStatus(mchOrderNo: string, orderStatus: string): void {
    for (const o of this.ordersOf(mchOrderNo)) o.orderStatus = orderStatus;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    for (const res of this.openResponses) res.socket?.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
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
    const behaviour = this.creates.shift() ?? 'ok';
    this.createLog.push({ mchOrderNo: String(body.mchOrderNo), behaviour });
    switch (behaviour) {
      case 'hang':
        this.hung.push(body);
        this.openResponses.add(res);
        return;
      case 'drop-land':
        this.hung.push(body);
        res.socket?.destroy();
        return;
      case 'drop':
        res.socket?.destroy();
        return;
      case 'busy':
        return this.answer(res, { code: 500, msg: 'System_busy' });
      case 'reject':
        return this.answer(res, { code: 400, msg: 'Params_amount_error' });
      default: {
        const order = this.create(body);
        return this.answer(res, {
          code: 200,
          msg: 'SUCCESS',
          data: this.view(order),
        });
      }
    }
  }

  private payOutQuery(body: Record<string, unknown>, res: ServerResponse): void {
    this.lookups++;
    const behaviour = this.lookupsQ.shift() ?? this.defaultLookup;
    const orderNo = body.orderNo === undefined ? undefined : String(body.orderNo);
    const mchOrderNo = body.mchOrderNo === undefined ? undefined : String(body.mchOrderNo);
    const found =
      behaviour === 'lie-absent'
        ? undefined
        : this.orders.find(
            (o) =>
              (orderNo === undefined || o.orderNo === orderNo) &&
              (mchOrderNo === undefined || o.mchOrderNo === mchOrderNo),
          );
    const reply =
      behaviour === 'fail'
        ? { code: 400, msg: 'MerchantId_error' }
        : found
          ? { code: 200, msg: 'SUCCESS', data: this.view(found) }
          : { code: 400, msg: 'Order_not_exist' };
    const rewritten = this.rewriteLookup?.(mchOrderNo);
    if (rewritten) return this.answer(res, { code: 200, msg: 'SUCCESS', data: rewritten });
    if (behaviour !== 'hold') return this.answer(res, reply);
    this.openResponses.add(res);
    const held: Held = {
      mchOrderNo,
      foundAtRead: found !== undefined,
      release: () => this.answer(res, reply),
    };
    const w = this.heldWaiters.shift();
    if (w) w(held);
    else this.heldUnclaimed.push(held);
  }

  private create(body: Record<string, unknown>): Order {
    const order: Order = {
      orderNo: `HG${++this.seq}`,
      mchOrderNo: String(body.mchOrderNo),
      merchantId: String(body.merchantId ?? ''),
      amount: String(body.amount),
      orderStatus: 'PROCESSING',
    };
    this.orders.push(order);
    return order;
  }

  private view(o: Order): Record<string, unknown> {
    return { ...o, fee: null, completionTime: null };
  }

  private answer(res: ServerResponse, envelope: unknown): void {
    this.openResponses.delete(res);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(envelope));
  }
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what = 'condition',
): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} never met`);
}
