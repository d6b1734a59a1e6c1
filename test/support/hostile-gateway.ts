import type { ServerResponse } from 'node:http';
import { FakeCashyGateway } from './fake-cashy-gateway';

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

/**
 * A scripted hostile Cashy for the review: no mchOrderNo dedupe; per-request behaviours queued by
 * the test; lookups keyed by orderNo when one is given (an orderNo it does not know is "not found",
 * whatever the mchOrderNo), else by mchOrderNo.
 */
export class HostileGateway extends FakeCashyGateway {
  readonly createLog: { mchOrderNo: string; behaviour: CreateBehaviour }[] = [];
  private readonly creates: CreateBehaviour[] = [];
  private readonly lookupsQ: LookupBehaviour[] = [];
  /** When set, every lookup not otherwise scripted behaves so. */
  defaultLookup: LookupBehaviour = 'ok';
  /** Rewrites every lookup's answer (a gateway answering about another order). */
  rewriteLookup?: (mchOrderNo: string | undefined) => Record<string, unknown> | undefined;

  constructor() {
    super('HG');
  }

  nextCreates(...b: CreateBehaviour[]): this {
    this.creates.push(...b);
    return this;
  }
  nextLookups(...b: LookupBehaviour[]): this {
    this.lookupsQ.push(...b);
    return this;
  }
  protected payOut(body: Record<string, unknown>, res: ServerResponse): void {
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

  protected payOutQuery(body: Record<string, unknown>, res: ServerResponse): void {
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
    this.hold(res, mchOrderNo, found !== undefined, reply);
  }
}
