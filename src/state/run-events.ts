// Runs that stop holding a worker (they wait, or they ended), as PostgreSQL notifications
// (migration 0016): incident drivers start the next secret at once instead of at their next poll.
// One connection per process, opened while someone listens, outside the pool so it takes none of
// the pool's connections. A hint, never the truth: listeners still read the recorded state.
import pg from 'pg';
import type { Logger } from '../log.js';
import { scrub } from '../redact.js';

const CHANNEL = 'rotor_run_settled';
/** After the connection is lost, how long before listening again. */
const RECONNECT_MS = 1_000;

export class RunSettledFeed {
  private readonly listeners = new Set<(runId: string) => void>();
  private client: pg.Client | null = null;
  private opening: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
  ) {}

  /** True while notifications arrive; when false, listeners must poll as if there were none. */
  get live(): boolean {
    return this.client !== null;
  }

  /**
   * Calls `fn` with the run's id on every notification until the returned function is called; with
   * '' once the connection (re)opens, for whatever settled while nobody listened.
   */
  subscribe(fn: (runId: string) => void): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) this.open();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.close();
    };
  }

  private open(): void {
    if (this.client || this.opening || this.retry) return;
    const client = new pg.Client({ ...this.pool.options, application_name: 'rotor-listen' });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (err) this.log.warn({ err: scrub(err.message) }, 'run notifications lost; incident drivers poll until they are back');
      if (this.listeners.size) this.retry = setTimeout(() => ((this.retry = null), this.open()), RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      for (const fn of this.listeners) fn(n.payload ?? '');
    });
    this.opening = client
      .connect()
      .then(() => client.query(`listen ${CHANNEL}`))
      .then(
        () => {
          this.opening = null;
          if (!this.listeners.size) return void client.end().catch(() => undefined);
          this.client = client;
          // Whatever settled while the connection opened went unheard: wake everyone once.
          for (const fn of this.listeners) fn('');
        },
        (err: Error) => {
          this.opening = null;
          client.on('error', () => undefined);
          void client.end().catch(() => undefined);
          this.log.warn({ err: scrub(err.message) }, 'cannot listen for run notifications; incident drivers poll');
          if (this.listeners.size) this.retry = setTimeout(() => ((this.retry = null), this.open()), RECONNECT_MS);
        },
      );
  }

  private close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('notification');
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
    }
  }
}
