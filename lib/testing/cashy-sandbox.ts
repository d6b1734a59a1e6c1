import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseJson } from '../client/cashy-wire';
import { isFinalPayoutStatus, type PayoutCurrency, type PayoutStatus } from '../payout.types';
import { SANDBOX_CONTENT_TYPE, SandboxTimers, errorReply } from './sandbox-conventions';
import {
  checkSandboxRequest,
  commitSandboxPayOut,
  processSandboxRequest,
  type SandboxEndpointContext,
  type SandboxIncomingRequest,
} from './sandbox-endpoints';
import { waitFor } from './sandbox-helpers';
import { notificationBody, SandboxLedger } from './sandbox-ledger';
import { SandboxNotifier, type SandboxDeliveryChain } from './sandbox-notifier';
import { ENDPOINT_PATHS } from './sandbox-faults';
import { SANDBOX_FAULT_HANDLERS, type SandboxFaultTurn } from './sandbox-fault.handlers';
import type {
  CashySandboxOptions,
  SandboxAccount,
  SandboxFaultSpec,
  SandboxOrder,
  SandboxDeliveryRecord,
  SandboxFaultReply,
  SandboxHttpReply,
  SandboxRequestRecord,
} from './sandbox.types';
import { resolveSandboxOptions, type ResolvedSandboxOptions } from './sandbox-options.resolver';
import {
  SANDBOX_DEFAULT_RESULT_DESC,
  SANDBOX_DEFAULT_REVERSAL_DESC,
  type SandboxFinalStatus,
} from './sandbox-triggers';

/** Options for `PayoutModule.forRoot()` pointing at a sandbox (`sandbox.moduleOptions()`). */
export interface SandboxModuleOptions {
  baseUrl: string;
  accounts: {
    name: string;
    merchantId: string;
    apiKey: string;
    currencies: PayoutCurrency[];
  }[];
  notifyUrl?: string;
}

const FINAL_STATUSES = Object.keys(SANDBOX_DEFAULT_RESULT_DESC) as readonly SandboxFinalStatus[];

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function send(
  res: ServerResponse,
  reply: SandboxHttpReply,
  contentType = SANDBOX_CONTENT_TYPE,
): void {
  res.writeHead(reply.httpStatus, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(reply.body),
  });
  res.end(reply.body);
}

/**
 * An embedded, stateful fake of Cashy's payout gateway on a real `node:http` server, for tests and
 * demos: signed requests in, signed notifications out, with Cashy's timeline, retries and faults.
 *
 * Requests go through Cashy's checks in order — path (unknown: HTTP 404), POST, JSON content type,
 * non-empty body, `MerchantId`, `Sign` (MD5 of the raw bytes + apiKey, either hex case), JSON,
 * `nonceStr` — then the endpoint's rules. The `msg` → `code` table is `SANDBOX_ERROR_CODES`.
 *
 * The create `remark` picks the outcome (`SANDBOX_TRIGGERS`). Timeline with `autoSettle`:
 * PROCESSING —`processingMs`→ PAYING —`payingMs`→ final. Fees are fixed (`SANDBOX_FEES`); a SUCCESS
 * debits amount + fee from the account balance and a SPEI return credits both back. Webhooks are
 * acknowledged only by the exact body `SUCCESS` and retried after 1, 2, 4 … 512 minutes ×
 * `timeScale` (at most 11 attempts per status).
 *
 * Faults (`SANDBOX_FAULT_EFFECTS`, injected with `injectFaults()` or drawn at random with the
 * `faults` option) imitate a gateway that fails or breaks its promises; `dedupeMchOrderNo: false`
 * lets a `mchOrderNo` create several orders.
 *
 * ```ts
 * const sandbox = new CashySandbox({ timeScale: 0.001 });
 * await sandbox.start();
 * PayoutModule.forRoot({ ...sandbox.moduleOptions({ notifyUrl }) });
 * // …
 * await sandbox.stop();
 * ```
 */
export class CashySandbox {
  /** Every request received, in arrival order, with what was answered (or the fault). */
  readonly requests: SandboxRequestRecord[] = [];
  /** Every webhook delivery attempt, in the order they completed. */
  readonly deliveries: SandboxDeliveryRecord[] = [];

  private readonly options: ResolvedSandboxOptions;
  private readonly ledger: SandboxLedger;
  private readonly timers = new SandboxTimers();
  private readonly notifier: SandboxNotifier;
  private readonly context: SandboxEndpointContext;
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private url?: string;
  private starting?: Promise<string>;
  private stopping?: Promise<void>;
  private lateCommits = 0;

  /** Validates the options (throwing an `Error` that names a bad one); nothing listens until `start()`. */
  constructor(options?: CashySandboxOptions) {
    this.options = resolveSandboxOptions(options);
    this.ledger = new SandboxLedger(this.options.accounts);
    this.notifier = new SandboxNotifier(
      this.timers,
      {
        timeScale: this.options.timeScale,
        notifyTimeoutMs: this.options.notifyTimeoutMs,
        apiKeyOf: (id) => this.ledger.account(id)!.apiKey,
      },
      (delivery) => this.deliveries.push(delivery),
    );
    this.context = {
      ledger: this.ledger,
      limits: this.options.limits,
      now: () => Date.now(),
      dedupe: this.options.dedupeMchOrderNo,
      onCreated: (order) => this.startTimeline(order),
    };
  }

  /** Starts listening; resolves with the base URL (`http://127.0.0.1:PORT`). Calling it again returns the same URL. */
  start(): Promise<string> {
    if (this.stopping)
      return Promise.reject(
        new Error('CashySandbox: a stopped sandbox cannot start again; create a new one'),
      );
    if (!this.starting) {
      this.starting = new Promise<string>((resolve, reject) => {
        const server = createServer((req, res) => this.onRequest(req, res));
        server.on('connection', (socket) => {
          this.sockets.add(socket);
          socket.once('close', () => this.sockets.delete(socket));
        });
        server.once('error', (error) => {
          this.starting = undefined;
          reject(error);
        });
        server.listen(this.options.port, this.options.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = this.options.host;
          const urlHost =
            host === '0.0.0.0'
              ? '127.0.0.1'
              : host === '::'
                ? '[::1]'
                : host.includes(':')
                  ? `[${host}]`
                  : host;
          this.url = `http://${urlHost}:${port}`;
          resolve(this.url);
        });
        this.server = server;
      });
    }
    return this.starting;
  }

  /**
   * Stops everything: pending status changes and retries, deliveries in flight, the server and
   * every socket (hung ones included). Idempotent; resolves when the server is closed.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** The base URL; throws before `start()` has resolved. */
  get baseUrl(): string {
    if (!this.url) throw new Error('CashySandbox: not started; await sandbox.start() first');
    return this.url;
  }

  /** The accounts (copies), each with its current balance. */
  get accounts(): SandboxAccount[] {
    return this.ledger.accounts.map((account) => ({
      merchantId: account.merchantId,
      apiKey: account.apiKey,
      currencies: [...account.currencies],
      balance: this.ledger.balance(account),
    }));
  }

  /** The (first) account serving `currency`; throws when none does. */
  account(currency: PayoutCurrency): SandboxAccount {
    const found = this.accounts.find((account) => account.currencies.includes(currency));
    if (!found) throw new Error(`CashySandbox: no account serves ${currency}`);
    return found;
  }

  /**
   * Options for `PayoutModule.forRoot({ ...sandbox.moduleOptions() })`. Accounts serving one
   * currency are named after it in lower case (`'pen'`, `'mxn'`); others (and clashes) by merchant id.
   */
  moduleOptions(extra: { notifyUrl?: string } = {}): SandboxModuleOptions {
    const label = (currencies: PayoutCurrency[]) =>
      currencies.length === 1 ? currencies[0].toLowerCase() : undefined;
    const labels = this.ledger.accounts.map((account) => label(account.currencies));
    return {
      baseUrl: this.baseUrl,
      accounts: this.ledger.accounts.map((account, i) => ({
        name:
          labels[i] !== undefined && labels.filter((l) => l === labels[i]).length === 1
            ? labels[i]
            : account.merchantId,
        merchantId: account.merchantId,
        apiKey: account.apiKey,
        currencies: [...account.currencies],
      })),
      ...(extra.notifyUrl !== undefined ? { notifyUrl: extra.notifyUrl } : {}),
    };
  }

  /**
   * Puts an order still in progress into a final status now (cancelling its automatic timeline) and
   * notifies it. `resultDesc` defaults to `SUCCESS`, `ACCOUNT_NOT_EXIST` or `COMPLIANCE_REJECT`.
   * A SUCCESS the balance cannot cover becomes FAIL `MERCHANT_BALANCE_NOT_ENOUGH`. Resolves once
   * the first delivery attempt is recorded (retries go on in the background); throws for an
   * unknown or already final order.
   */
  async settle(orderNo: string, status: SandboxFinalStatus, resultDesc?: string): Promise<void> {
    if (!FINAL_STATUSES.includes(status))
      throw new Error(`CashySandbox.settle: status must be one of ${FINAL_STATUSES.join(', ')}`);
    const order = this.requireOrder(orderNo, 'settle');
    if (isFinalPayoutStatus(order.orderStatus)) {
      throw new Error(
        `CashySandbox.settle: order ${orderNo} is already ${order.orderStatus} (use reverse() for a SPEI return)`,
      );
    }
    this.timers.cancel(this.orderKey(order));
    await this.changeStatus(order, status, resultDesc ?? SANDBOX_DEFAULT_RESULT_DESC[status]).chain
      .firstAttempt;
  }

  /**
   * A SPEI return (Mexico's second callback, W2): a SUCCESS MXN order becomes FAIL with `reason`
   * (default `ACCOUNT_NOT_EXIST`), amount and fee go back to the balance, and the FAIL is notified.
   * Resolves once the first delivery attempt is recorded; throws for any other order.
   */
  async reverse(orderNo: string, reason: string = SANDBOX_DEFAULT_REVERSAL_DESC): Promise<void> {
    const order = this.requireOrder(orderNo, 'reverse');
    if (order.currency !== 'MXN')
      throw new Error(
        `CashySandbox.reverse: order ${orderNo} is ${order.currency}; only MXN (SPEI) payouts are returned`,
      );
    if (order.orderStatus !== 'SUCCESS')
      throw new Error(
        `CashySandbox.reverse: order ${orderNo} is ${order.orderStatus}; only a SUCCESS can be returned`,
      );
    this.timers.cancel(this.orderKey(order));
    await this.changeStatus(order, 'FAIL', reason).chain.firstAttempt;
  }

  /**
   * Sends the order's current status again as a new delivery chain (a duplicate, byte for byte
   * what a status change would send), recorded like any delivery. Resolves once its first attempt
   * is recorded.
   */
  async notifyAgain(orderNo: string): Promise<void> {
    const order = this.requireOrder(orderNo, 'notifyAgain');
    await this.notifier.deliver(order, notificationBody(order)).firstAttempt;
  }

  /**
   * The next `count` requests to the given endpoints (default all) get the fault `mode`. `reply`
   * needs `spec.reply` (and takes `spec.process`), `mismatch` needs `spec.mismatch`; the spec is
   * checked now, throwing an `Error` that names the bad field.
   */
  injectFaults(spec: SandboxFaultSpec): void {
    this.options.faults.inject(spec);
  }

  /** Every order (copies), oldest first. */
  orders(): SandboxOrder[] {
    return this.ledger.all().map((order) => structuredClone(order));
  }

  /** One order (a copy) by Cashy's `orderNo`. */
  order(orderNo: string): SandboxOrder | undefined {
    const order = this.ledger.get(orderNo);
    return order && structuredClone(order);
  }

  /**
   * Orders (copies) with this `mchOrderNo`, across accounts, oldest first. One account never holds
   * two unless `dedupeMchOrderNo` is false.
   */
  ordersByMchOrderNo(mchOrderNo: string): SandboxOrder[] {
    return this.ledger
      .all()
      .filter((order) => order.mchOrderNo === mchOrderNo)
      .map((order) => structuredClone(order));
  }

  /**
   * Polls `probe` every 5 ms until it returns something other than `undefined`, `null` or `false`,
   * and resolves with that. A probe that throws is retried (handy for `expect` inside it). Rejects
   * after `timeoutMs` (default 5000) with the probe's source and its last error.
   */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return waitFor(probe, timeoutMs);
  }

  /**
   * Resolves when no status change, retry, delivery or `late-commit` creation is pending (HOLD
   * orders and hung requests do not count). Rejects after `timeoutMs` (default 60000) saying what
   * is still pending.
   */
  idle(timeoutMs = 60_000): Promise<void> {
    return this.waitFor(
      () => this.timers.size === 0 && this.notifier.pending === 0,
      timeoutMs,
    ).then(
      () => undefined,
      () => {
        throw new Error(
          `CashySandbox.idle: still busy after ${timeoutMs} ms (${this.timers.size} timers, ${this.notifier.pending} delivery chains pending)`,
        );
      },
    );
  }

  private async shutdown(): Promise<void> {
    this.timers.clear();
    this.notifier.stop();
    const server = this.server;
    if (!server) return;
    await this.starting?.catch(() => undefined);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // close() waits for open connections; hung requests would hold it forever.
      server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.respond(req, res, Buffer.concat(chunks)));
    req.on('error', () => undefined);
  }

  private respond(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const text = raw.toString('utf8');
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const headers = flattenHeaders(req.headers);
    const method = req.method ?? '';
    const base = {
      at: Date.now(),
      method,
      endpoint: path,
      headers,
      body: text,
      json: parseJson(text),
      merchantId: headers.merchantid,
    };
    const record = (response: SandboxHttpReply | SandboxFaultReply) =>
      void this.requests.push({ ...base, response });
    const answer = (reply: SandboxHttpReply) => {
      record(reply);
      send(res, reply);
    };
    if (!ENDPOINT_PATHS.includes(path)) return answer(errorReply('Request_path_not_found', 404));
    const request: SandboxIncomingRequest = { method, path, headers, raw };
    const turn: SandboxFaultTurn = {
      path,
      record,
      send: (reply, contentType) => send(res, reply, contentType),
      process: () => processSandboxRequest(request, this.context),
      drop: () => req.socket.destroy(),
      commitLate: () => this.commitLate(request, base.at, record),
      notifyFirst: (order) =>
        this.notifyBeforeAnswer(order).then(
          () => !(this.stopping || res.destroyed || res.writableEnded),
        ),
    };
    const fault = this.options.faults.draw(path);
    if (fault) SANDBOX_FAULT_HANDLERS[fault.mode](turn, fault);
    else answer(turn.process().reply);
  }

  /**
   * The `late-commit` fault on a payOut: checked now, booked `lateCommitMs` after it arrived (under
   * a timer, so `stop()` cancels it and `idle()` waits for it), never answered.
   */
  private commitLate(
    request: SandboxIncomingRequest,
    arrivedAt: number,
    record: (response: SandboxFaultReply) => void,
  ): void {
    const response: SandboxFaultReply = { fault: 'late-commit' };
    record(response);
    const checked = checkSandboxRequest(request, this.context);
    if (!checked.payOut) {
      response.withheld = checked.reply;
      return;
    }
    const pending = checked.payOut;
    this.timers.after(
      `late-commit:${++this.lateCommits}`,
      arrivedAt + this.options.lateCommitMs - Date.now(),
      () => {
        response.withheld = commitSandboxPayOut(pending, this.context).reply;
      },
    );
  }

  /**
   * The `notify-before-answer` fault: the new order goes straight to the final status its remark
   * gives (SUCCESS for HOLD), its timeline cancelled, and that status is notified. Resolves once the
   * notification's first attempt is recorded. A REVERSE (MXN) order still gets its SPEI return
   * afterwards with `autoSettle`.
   */
  private notifyBeforeAnswer(order: SandboxOrder): Promise<void> {
    this.timers.cancel(this.orderKey(order));
    return this.finish(
      order,
      order.outcome.final ?? {
        status: 'SUCCESS',
        resultDesc: SANDBOX_DEFAULT_RESULT_DESC.SUCCESS,
      },
    ).firstAttempt;
  }

  /** Moves an order to its final status and notifies it; a REVERSE (MXN) then gets its SPEI return. */
  private finish(
    order: SandboxOrder,
    final: NonNullable<SandboxOrder['outcome']['final']>,
  ): SandboxDeliveryChain {
    const { status, chain } = this.changeStatus(order, final.status, final.resultDesc);
    if (this.options.autoSettle && status === 'SUCCESS') this.scheduleReversal(order, chain);
    return chain;
  }

  private orderKey(order: SandboxOrder): string {
    return `order:${order.orderNo}`;
  }

  private requireOrder(orderNo: string, method: string): SandboxOrder {
    const order = this.ledger.get(orderNo);
    if (!order) throw new Error(`CashySandbox.${method}: no order ${orderNo}`);
    return order;
  }

  /** Records a status change and starts notifying it. */
  private changeStatus(
    order: SandboxOrder,
    status: PayoutStatus,
    resultDesc: string | null,
  ): { status: PayoutStatus; chain: SandboxDeliveryChain } {
    const reached = this.ledger.transition(order, status, resultDesc, Date.now());
    return {
      status: reached,
      chain: this.notifier.deliver(order, notificationBody(order)),
    };
  }

  /** The automatic life of a new order (nothing with `autoSettle: false` or a HOLD remark). */
  private startTimeline(order: SandboxOrder): void {
    const final = order.outcome.final;
    if (!this.options.autoSettle || !final) return;
    const key = this.orderKey(order);
    this.timers.after(key, this.options.processingMs, () => {
      this.changeStatus(order, 'PAYING', null);
      this.timers.after(key, this.options.payingMs, () => this.finish(order, final));
    });
  }

  /** A REVERSE (MXN) order's SPEI return, `payingMs` after its SUCCESS chain is done; nothing for others. */
  private scheduleReversal(order: SandboxOrder, chain: SandboxDeliveryChain): void {
    const reversal = order.outcome.reversal;
    if (reversal === undefined) return;
    // W2 comes after W1 has been dealt with, as SPEI returns come after the credit.
    void chain.done.then(() =>
      this.timers.after(this.orderKey(order), this.options.payingMs, () => {
        if (order.orderStatus === 'SUCCESS') this.changeStatus(order, 'FAIL', reversal);
      }),
    );
  }
}
