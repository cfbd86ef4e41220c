// The consumer type of the chaos run's applications, loaded by each worker process: it tells the
// consumer clients (an HTTP endpoint in the harness) which version is current, by id only, and
// confirms with the version the client reports it now uses. The clients read the value from the
// store themselves, as an application reading CURRENT would.
import { UnavailableError } from '../src/errors.js';
import type { Consumer, ConsumerContext, ConsumerNotice } from '../src/consumers/contract.js';

export interface ChaosClientParams {
  /** Base URL of the clients' endpoint, e.g. http://127.0.0.1:41234 */
  url: string;
}

/** A client switches only once its logins with the old version are over: long enough for that. */
const TIMEOUT_MS = 20_000;

async function call(ctx: ConsumerContext<ChaosClientParams>, path: string, init: RequestInit = {}): Promise<unknown> {
  const url = `${ctx.params.url}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(TIMEOUT_MS)]) });
  } catch (err) {
    throw new UnavailableError(`chaos clients at ${ctx.params.url} did not answer: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new UnavailableError(`chaos clients at ${ctx.params.url} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

function ids(notice: ConsumerNotice): string {
  return JSON.stringify({ secretId: notice.secretId, runId: notice.runId, versionId: notice.versionId, location: notice.store.location });
}

export const chaosClientConsumer: Consumer<ChaosClientParams> = {
  type: 'chaos-client',
  carriesValue: false,
  async notify(ctx, notice) {
    await call(ctx, '/notice', { method: 'POST', headers: { 'content-type': 'application/json' }, body: ids(notice) });
  },
  async confirm(ctx, notice) {
    const answer = (await call(ctx, `/version?secret=${encodeURIComponent(notice.secretId)}`)) as { version?: unknown };
    return typeof answer.version === 'string' ? answer.version : null;
  },
};
