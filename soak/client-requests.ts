import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

const REQUEST_START = 'http.client.request.start';

/**
 * When this process's HTTP client finished each signed request: its response ended, or it gave up
 * (timeout, reset). Seen through Node's `http` client diagnostics channel, so nothing in the module
 * is touched; keyed by the request's `Sign` header, which the sandbox records too.
 */
export class ClientRequestLog {
  private readonly endedAt = new Map<string, number>();
  private readonly onStart = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const sign = request.getHeader('sign');
    if (typeof sign !== 'string') return;
    request.once('close', () => this.endedAt.set(sign, Date.now()));
  };

  start(): this {
    subscribe(REQUEST_START, this.onStart);
    return this;
  }

  stop(): void {
    unsubscribe(REQUEST_START, this.onStart);
  }

  /** `Date.now()` when the client finished the request signed `sign`, if it was seen. */
  endOf(sign: string | undefined): number | undefined {
    return sign === undefined ? undefined : this.endedAt.get(sign);
  }
}
