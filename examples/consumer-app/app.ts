// The demo consumer application: reads its PostgreSQL credential from the store's CURRENT, keeps a
// pool, and reloads when rotor's signed webhook says a new version is current. It shows what an
// application needs for rotation without outage: verify the request, read the value from the
// store itself (the webhook carries ids only), switch pools, drain the old one, report the version.
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../src/log.js';
import { redactError } from '../../src/redact.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  DELIVERY_HEADER,
  ReplayGuard,
  SIGNATURE_V2_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
  type VersionReport,
} from '../../src/consumers/signing.js';
import type { SecretStore } from '../../src/store/contract.js';
import { DatabaseError, isAuthFailure, openPool, toDatabaseError, type LoadedPool, type PoolSettings } from './db.js';

export interface ConsumerAppOptions {
  /** The secret this app uses; a webhook about any other secret is refused. */
  secretId: string;
  /** Where the credential is read from (the store named in the policy). */
  store: SecretStore;
  /** The store location of the secret. @defaultValue secretId (the `local` store's location) */
  location?: string;
  /** The HMAC-SHA256 key rotor signs with: the value behind the webhook consumer's `secret` reference. */
  webhookKey: string;
  /** How far a request's timestamp may be from this clock. @defaultValue 300 (signing.ts) */
  toleranceSeconds?: number;
  /** @defaultValue 127.0.0.1 */
  host?: string;
  /** @defaultValue 0 (a free port; see `url`) */
  port?: number;
  /** @defaultValue { max: 5 } */
  pool?: PoolSettings;
  /** @defaultValue silent */
  log?: Logger;
  /** Builds the pool for a stored version. @defaultValue a PostgreSQL pool (db.ts); the MariaDB bench passes its own */
  openPool?: typeof openPool;
  /** Called after each successful reload, with the version now in use (benchmarks, tests). */
  onReload?: (versionId: string, at: Date) => void;
}

export type HealthResult = { ok: true; version: string } | { ok: false; version: string | null; code: string | undefined; reason: string };

export interface ConsumerApp {
  /** `http://host:port`, the base of /rotor/reload, /rotor/version and /healthz. */
  url: string;
  /** The version of the credential in use, null before the first one was loaded. */
  version(): string | null;
  /** What GET /healthz runs: `select 1` through the pool. */
  check(): Promise<HealthResult>;
  /** Stops listening, then drains every pool. Idempotent. */
  close(): Promise<void>;
}

const webhookBodySchema = z.object({
  event: z.literal('version.current'),
  delivery: z.string().min(1).max(200),
  secretId: z.string().min(1),
  runId: z.string().min(1),
  versionId: z.string().min(1),
  store: z.object({ backend: z.string(), location: z.string() }),
  revokeAfter: z.string(),
});

export async function createConsumerApp(opts: ConsumerAppOptions): Promise<ConsumerApp> {
  const log = opts.log ?? silentLogger;
  const location = opts.location ?? opts.secretId;
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const settings: PoolSettings = { max: 5, ...opts.pool };
  const replays = new ReplayGuard(tolerance);
  const drains = new Set<Promise<void>>();
  let current: LoadedPool | null = null;
  const inUse = (): string | null => current?.versionId ?? null;
  let closed = false;
  // Reloads run one at a time: two deliveries at once must not build two pools and leak one.
  let queue: Promise<unknown> = Promise.resolve();

  /** Reads CURRENT and switches to it; a no-op when it is the version in use. */
  function reload(reason: string): Promise<string | null> {
    const next = queue.then(async () => {
      if (closed) throw new DatabaseError('the app is shutting down', undefined);
      const stored = await opts.store.get(location, 'CURRENT');
      if (!stored) return inUse();
      if (stored.versionId === current?.versionId) return stored.versionId;
      // The new pool must log in before it replaces the old one: if it cannot, the app keeps
      // working on the old credential and does not confirm, so rotor rolls back instead of revoking.
      const fresh = await (opts.openPool ?? openPool)(stored, settings, log);
      const old = current;
      current = fresh;
      opts.onReload?.(fresh.versionId, new Date());
      log.info(
        { secretId: opts.secretId, versionId: fresh.versionId, role: fresh.username, previous: old?.versionId ?? null, reason },
        'credential reloaded',
      );
      if (old) {
        const drained = old.drain(log).finally(() => drains.delete(drained));
        drains.add(drained);
      }
      return fresh.versionId;
    });
    queue = next.catch(() => undefined);
    return next;
  }

  async function check(): Promise<HealthResult> {
    const using = current;
    if (!using)
      return {
        ok: false,
        version: null,
        code: undefined,
        reason: `no credential yet: ${opts.secretId} has no CURRENT version in the store`,
      };
    try {
      await using.query('select 1');
      return { ok: true, version: using.versionId };
    } catch (err) {
      const safe = toDatabaseError(`select 1 as ${using.username} failed`, err);
      return { ok: false, version: using.versionId, code: safe.code, reason: safe.message };
    }
  }

  /**
   * The check every /rotor request passes first: the v2 signature over method, path, query,
   * delivery id and body as received, then the delivery id not seen before (replay).
   */
  function refusal(c: Context, body: string): { reason: string } | { timestamp: number; delivery: string } {
    const verdict = verifyRequest(
      opts.webhookKey,
      { method: c.req.method, url: c.req.url, body },
      { timestamp: c.req.header(TIMESTAMP_HEADER), delivery: c.req.header(DELIVERY_HEADER), signature: c.req.header(SIGNATURE_V2_HEADER) },
      { toleranceSeconds: tolerance },
    );
    if (!verdict.ok) return { reason: verdict.reason };
    // After the signature: only rotor can add ids to the guard, so junk cannot flood it.
    if (!replays.accept(verdict.delivery, verdict.timestamp)) {
      log.warn({ delivery: verdict.delivery }, 'webhook replay refused');
      return { reason: `delivery ${verdict.delivery} was already accepted (a replayed request)` };
    }
    return { timestamp: verdict.timestamp, delivery: verdict.delivery };
  }

  const app = new Hono();

  app.post('/rotor/reload', async (c) => {
    // The signature covers the exact bytes received, so the body is read raw and parsed after.
    const raw = await c.req.text();
    const signed = refusal(c, raw);
    if ('reason' in signed) {
      log.warn({ reason: signed.reason }, 'webhook refused');
      return c.json({ error: `unauthorized: ${signed.reason}` }, 401);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return c.json({ error: 'the body is not JSON' }, 400);
    }
    const parsed = webhookBodySchema.safeParse(json);
    if (!parsed.success)
      return c.json(
        { error: `the body is not a rotor webhook: ${parsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}` },
        400,
      );
    const body = parsed.data;
    if (body.delivery !== signed.delivery)
      return c.json({ error: `unauthorized: the body's delivery is not the signed ${DELIVERY_HEADER}` }, 401);
    if (body.secretId !== opts.secretId) return c.json({ error: `this app uses ${opts.secretId}, not ${body.secretId}` }, 404);
    try {
      const version = await reload(`webhook ${body.delivery} (run ${body.runId})`);
      if (version !== body.versionId) {
        // CURRENT moved on (a later rotation, a rollback): the app loaded what is current now and
        // says so; rotor confirms only the version it announced.
        log.info({ announced: body.versionId, loaded: version }, 'CURRENT differs from the announced version');
      }
      return c.json({ version } satisfies VersionReport);
    } catch (err) {
      const safe = err instanceof DatabaseError ? err : redactError(err as Error);
      log.error({ versionId: body.versionId, err: safe.message }, 'reload failed; still using the previous credential');
      return c.json({ error: `reload failed: ${safe.message}`, version: inUse() }, 503);
    }
  });

  app.get('/rotor/version', (c) => {
    const signed = refusal(c, '');
    if ('reason' in signed) return c.json({ error: `unauthorized: ${signed.reason}` }, 401);
    const asked = c.req.query('secret');
    if (asked !== undefined && asked !== opts.secretId) return c.json({ error: `this app uses ${opts.secretId}, not ${asked}` }, 404);
    return c.json({ version: inUse() } satisfies VersionReport);
  });

  app.get('/healthz', async (c) => {
    const h = await check();
    return h.ok
      ? c.json({ status: 'ok', version: h.version })
      : c.json({ status: isAuthFailure(h.code) ? 'auth-failed' : 'error', version: h.version, code: h.code ?? null, error: h.reason }, 503);
  });

  // Start with whatever is CURRENT now; a secret never rotated yet is loaded by the first webhook.
  try {
    await reload('start');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no usable credential at start; waiting for a webhook');
  }

  const server = createAdaptorServer({ fetch: app.fetch });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  }).catch(async (err: unknown) => {
    await current?.drain(log);
    throw err;
  });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.debug({ url, secretId: opts.secretId, version: inUse() }, 'consumer app listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    version: inUse,
    check,
    close() {
      closing ??= (async () => {
        closed = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections would hold close() open until they time out.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await queue;
        const last = current;
        current = null;
        await Promise.allSettled([...drains, last ? last.drain(log) : Promise.resolve()]);
      })();
      return closing;
    },
  };
}
