// Live updates: one poller per server (not per browser) watches a cheap signature of the state
// database and tells every open page (Server-Sent Events) when it moved.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from '../log.js';
import { changeSignature } from '../state/change-signature.js';
import type { Queryable } from '../state/db.js';

const HEARTBEAT_MS = 15_000;

export class ChangeFeed {
  private readonly listeners = new Set<() => void>();
  private readonly streams = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private polling = false;

  constructor(
    private readonly db: Queryable,
    private readonly everyMs: number,
    private readonly log: Logger,
  ) {}

  /** Polls only while someone listens. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    this.timer ??= setInterval(() => void this.poll(), this.everyMs);
    return () => {
      this.listeners.delete(fn);
      if (!this.listeners.size && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.last = undefined;
      }
    };
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const v = await changeSignature(this.db);
      const changed = this.last !== undefined && v !== this.last;
      this.last = v;
      if (changed) for (const fn of this.listeners) fn();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'dashboard change poll failed');
    } finally {
      this.polling = false;
    }
  }

  /** The /events endpoint: `event: change` on every move, a comment line as heartbeat; `onEnd` when it closes. */
  handle(c: Context, onEnd?: () => void): Response {
    return streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      let dirty = false;
      let open = true;
      const stop = () => {
        open = false;
        wake?.();
      };
      this.streams.add(stop);
      stream.onAbort(stop);
      const unsubscribe = this.subscribe(() => {
        dirty = true;
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'hello', data: 'ok', retry: 3000 });
        while (open) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, HEARTBEAT_MS).unref();
          });
          wake = undefined;
          if (!open) break;
          if (dirty) {
            dirty = false;
            await stream.writeSSE({ event: 'change', data: String(Date.now()) });
          } else {
            await stream.write(': heartbeat\n\n');
          }
        }
      } finally {
        unsubscribe();
        this.streams.delete(stop);
        onEnd?.();
      }
    });
  }

  /** Ends every open stream (server shutdown) and stops polling. */
  close(): void {
    for (const stop of [...this.streams]) stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}
