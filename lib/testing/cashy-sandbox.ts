import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
import { ENDPOINT_PATHS, SANDBOX_FAULT_HANDLERS, type SandboxFaultTurn } from './sandbox-faults';
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
  accounts: { name: string; merchantId: string; apiKey: string; currencies: PayoutCurrency[] }[];
  notifyUrl?: string;
}

const FINAL_STATUSES = Object.keys(SANDBOX_DEFAULT_RESULT_DESC) as readonly SandboxFinalStatus[];

function send(res: ServerResponse, reply: SandboxHttpReply, contentType = SANDBOX_CONTENT_TYPE) {
  const length = Buffer.byteLength(reply.body);
  res.writeHead(reply.httpStatus, { 'Content-Type': contentType, 'Content-Length': length });
  res.end(reply.body);
}

/** The host part of a URL reaching a server that listens on `host`. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * An embedded, stateful fake of Cashy's payout gateway on a real `node:http` server, for tests and
 * demos: signed requests in, signed notifications out, with Cashy's timeline, retries and faults
 * (see docs/testing.md, `SANDBOX_TRIGGERS` and `SANDBOX_FAULT_EFFECTS`).
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
    const { accounts, timeScale, notifyTimeoutMs, limits, dedupeMchOrderNo } = this.options;
    this.ledger = new SandboxLedger(accounts);
    const apiKeyOf = (id: string) => this.ledger.account(id)!.apiKey;
    this.notifier = new SandboxNotifier(
      this.timers,
      { timeScale, notifyTimeoutMs, apiKeyOf },
      (delivery) => this.deliveries.push(delivery),
    );
    this.context = {
      ledger: this.ledger,
      limits,
      now: () => Date.now(),
      dedupe: dedupeMchOrderNo,
      onCreated: (order) => this.startTimeline(order),
    };
  }

  /** Starts listening; resolves with the base URL (`http://127.0.0.1:PORT`), the same on every call. */
  start(): Promise<string> {
    if (this.stopping)
      return Promise.reject(
        new Error('CashySandbox: a stopped sandbox cannot start again; create a new one'),
      );
    this.starting ??= new Promise<string>((resolve, reject) => {
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
        this.url = `http://${urlHost(this.options.host)}:${port}`;
        resolve(this.url);
      });
      this.server = server;
    });
    return this.starting;
  }

  /** Stops timers, deliveries, the server and every socket (hung ones too); idempotent. */
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
   * currency are named after it (`'pen'`, `'mxn'`); others (and clashes) by merchant id.
   */
  moduleOptions(extra: { notifyUrl?: string } = {}): SandboxModuleOptions {
    const labels = this.ledger.accounts.map(({ currencies }) =>
      currencies.length === 1 ? currencies[0].toLowerCase() : undefined,
    );
    const unique = (label?: string) =>
      label !== undefined && labels.filter((l) => l === label).length === 1;
    return {
      baseUrl: this.baseUrl,
      accounts: this.ledger.accounts.map(({ merchantId, apiKey, currencies }, i) => ({
        name: unique(labels[i]) ? labels[i]! : merchantId,
        merchantId,
        apiKey,
        currencies: [...currencies],
      })),
      ...(extra.notifyUrl !== undefined ? { notifyUrl: extra.notifyUrl } : {}),
    };
  }

  /** Moves an order in progress to a final status now and notifies it (resolves after attempt 1). */
  async settle(orderNo: string, status: SandboxFinalStatus, resultDesc?: string): Promise<void> {
    if (!FINAL_STATUSES.includes(status))
      throw new Error(`CashySandbox.settle: status must be one of ${FINAL_STATUSES.join(', ')}`);
    const order = this.requireOrder(orderNo, 'settle');
    if (isFinalPayoutStatus(order.orderStatus))
      throw new Error(
        `CashySandbox.settle: order ${orderNo} is already ${order.orderStatus} (use reverse() for a SPEI return)`,
      );
    await this.interrupt(order, status, resultDesc ?? SANDBOX_DEFAULT_RESULT_DESC[status]);
  }

  /** A SPEI return: a SUCCESS MXN order becomes FAIL, refunded and notified (resolves after attempt 1). */
  async reverse(orderNo: string, reason: string = SANDBOX_DEFAULT_REVERSAL_DESC): Promise<void> {
    const order = this.requireOrder(orderNo, 'reverse');
    const refusal =
      order.currency !== 'MXN'
        ? `is ${order.currency}; only MXN (SPEI) payouts are returned`
        : order.orderStatus !== 'SUCCESS'
          ? `is ${order.orderStatus}; only a SUCCESS can be returned`
          : undefined;
    if (refusal) throw new Error(`CashySandbox.reverse: order ${orderNo} ${refusal}`);
    await this.interrupt(order, 'FAIL', reason);
  }

  /** Sends the order's current status again as a new delivery chain (resolves after attempt 1). */
  async notifyAgain(orderNo: string): Promise<void> {
    const order = this.requireOrder(orderNo, 'notifyAgain');
    await this.notifier.deliver(order, notificationBody(order)).firstAttempt;
  }

  /** The next `count` requests to the given endpoints (default all) get the fault. */
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

  /** Orders (copies) with this `mchOrderNo`, across accounts, oldest first. */
  ordersByMchOrderNo(mchOrderNo: string): SandboxOrder[] {
    return this.ledger
      .all()
      .filter((order) => order.mchOrderNo === mchOrderNo)
      .map((order) => structuredClone(order));
  }

  /** `waitFor` (polls `probe` until it gives a value); rejects after `timeoutMs`. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return waitFor(probe, timeoutMs);
  }

  /** Resolves when no status change, retry, delivery or `late-commit` is pending. */
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
    const body = raw.toString('utf8');
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const method = req.method ?? '';
    const at = Date.now();
    const base = { at, method, endpoint: path, headers, body, json: parseJson(body) };
    const record = (response: SandboxHttpReply | SandboxFaultReply) =>
      void this.requests.push({ ...base, merchantId: headers.merchantid, response });
    if (!ENDPOINT_PATHS.includes(path)) {
      const reply = errorReply('Request_path_not_found', 404);
      record(reply);
      return send(res, reply);
    }
    const request: SandboxIncomingRequest = { method, path, headers, raw };
    const turn: SandboxFaultTurn = {
      path,
      record,
      send: (reply, contentType) => send(res, reply, contentType),
      process: () => processSandboxRequest(request, this.context),
      drop: () => req.socket.destroy(),
      commitLate: () => this.commitLate(request, at, record),
      notifyFirst: (order) =>
        this.notifyBeforeAnswer(order).then(
          () => !(this.stopping || res.destroyed || res.writableEnded),
        ),
    };
    const fault = this.options.faults.draw(path);
    if (fault) return SANDBOX_FAULT_HANDLERS[fault.mode](turn, fault);
    const { reply } = turn.process();
    record(reply);
    send(res, reply);
  }

  /**
   * `late-commit` on a payOut: checked now, booked `lateCommitMs` after it arrived (under a timer,
   * so `stop()` cancels it and `idle()` waits for it), never answered.
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
    const delay = arrivedAt + this.options.lateCommitMs - Date.now();
    this.timers.after(`late-commit:${++this.lateCommits}`, delay, () => {
      response.withheld = commitSandboxPayOut(pending, this.context).reply;
    });
  }

  /**
   * `notify-before-answer`: the new order goes straight to its remark's final status (SUCCESS for
   * HOLD), notified; resolves after the first attempt. A REVERSE (MXN) still gets its SPEI return.
   */
  private notifyBeforeAnswer(order: SandboxOrder): Promise<void> {
    this.timers.cancel(this.orderKey(order));
    const success = { status: 'SUCCESS' as const, resultDesc: SANDBOX_DEFAULT_RESULT_DESC.SUCCESS };
    return this.finish(order, order.outcome.final ?? success).firstAttempt;
  }

  /** Cancels the order's timeline and moves it to `status` now (resolves after attempt 1). */
  private async interrupt(order: SandboxOrder, status: PayoutStatus, resultDesc: string) {
    this.timers.cancel(this.orderKey(order));
    await this.changeStatus(order, status, resultDesc).chain.firstAttempt;
  }

  /** Moves an order to its final status and notifies it; a REVERSE (MXN) then gets its return. */
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
  private changeStatus(order: SandboxOrder, status: PayoutStatus, resultDesc: string | null) {
    const reached = this.ledger.transition(order, status, resultDesc, Date.now());
    return { status: reached, chain: this.notifier.deliver(order, notificationBody(order)) };
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

  /** A REVERSE (MXN) order's SPEI return, `payingMs` after its SUCCESS chain is done. */
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
