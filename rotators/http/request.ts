// One request of the http rotator: a step's template rendered and sent, with a timeout, a cap on
// the answer's size, no redirects, and errors that name the step, method, URL and status, never a
// body (an API's answer to create holds the key itself).
import { PermanentError, RotorError, UnavailableError } from '../../src/errors.js';
import { displayUrl } from '../../src/net/http.js';
import { trackSecret } from '../../src/redact.js';
import type { RotatorContext } from '../../src/rotator/contract.js';
import { select } from './extract.js';
import { DEFAULT_EXPECT, type HttpParams, type StepName } from './schema.js';
import { placeholdersOf, render, renderBody, type Scope } from './template.js';

/** An API's answer larger than this is refused: key endpoints answer a few KiB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export interface Answer {
  status: number;
  /** The answer parsed as JSON; PermanentError (naming the step) when it is not JSON. */
  json(): unknown;
}

export interface Credentials {
  current?: Readonly<Record<string, string | number>>;
  next?: Readonly<Record<string, string | number>>;
}

/**
 * Sends `step`'s request and returns the answer when its status is one the step expects.
 * Otherwise: a redirect, or a refusal retrying cannot change (4xx but 408/429), is a
 * PermanentError (for verify a RotorError, retried: a new key may take a moment to work
 * everywhere); network errors, timeouts, 408, 429 and 5xx are UnavailableError, retried by the
 * engine with its backoff.
 */
export async function sendStep(ctx: RotatorContext<HttpParams>, step: StepName, creds: Credentials, timeoutMs: number): Promise<Answer> {
  const template = ctx.params.target.requests[step];
  if (!template) throw new PermanentError(`http rotator: ${step} has no request in the policy`);
  const scope: Scope = {
    ...creds,
    refs: await resolveRefs(ctx, [template.url, template.headers, template.body]),
    secretId: ctx.secretId,
    runId: ctx.runId,
  };
  const url = render(template.url, scope, encodeURIComponent);
  const method = template.method;
  const label = `http rotator: ${step} ${method} ${displayUrl(url)}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, value] of Object.entries(template.headers)) headers[name.toLowerCase()] = render(value, scope);
  let body: string | undefined;
  if (template.body !== undefined) {
    body = JSON.stringify(renderBody(template.body, scope));
    headers['content-type'] ??= 'application/json';
  }

  let res: Response;
  let bytes: Buffer;
  try {
    res = await fetch(url, {
      method,
      headers,
      body,
      // A redirect would send the credentials in the headers to wherever the answer points.
      redirect: 'manual',
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
    });
    bytes = await readCapped(res, label);
  } catch (err) {
    if (err instanceof RotorError) throw err;
    if (ctx.signal.aborted) throw new RotorError(`${label}: interrupted, rotor is shutting down`);
    const e = err as Error & { cause?: { code?: string } };
    const what = e.name === 'TimeoutError' ? `did not answer within ${timeoutMs}ms` : `cannot be reached (${e.cause?.code ?? e.name})`;
    throw new UnavailableError(`${label} ${what}`, {
      hint: 'check that the API is up and reachable from rotor; the engine tries again with backoff',
    });
  }

  const expected = template.expect ?? DEFAULT_EXPECT[step];
  if (expected.includes(res.status)) {
    return {
      status: res.status,
      json() {
        try {
          return bytes.length ? JSON.parse(bytes.toString('utf8')) : null;
        } catch {
          throw new PermanentError(`${label} answered HTTP ${res.status} with a body that is not JSON`, {
            hint: `check target.requests.${step}.url: it must be the API's JSON endpoint`,
          });
        }
      },
    };
  }
  const answered = `${label} answered HTTP ${res.status} (expected ${expected.join(', ')})`;
  if (res.status >= 300 && res.status < 400) {
    throw new PermanentError(`${answered}: a redirect`, {
      hint: `write the final URL in target.requests.${step}.url: rotor never follows redirects with credentials`,
    });
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    throw new UnavailableError(answered, { hint: 'the API is busy or failing; the engine tries again with backoff' });
  }
  const hint =
    res.status === 401 || res.status === 403
      ? `the API refused the credential target.requests.${step} sends: check its headers and the credential behind them`
      : `check target.requests.${step} (URL, method, body) against the API's documentation, or add the status to target.requests.${step}.expect`;
  // verify is asked about a key that may not work yet everywhere: retried, then the run discards it.
  if (step === 'verify') throw new RotorError(answered, { hint });
  throw new PermanentError(answered, { hint });
}

/** The single value `path` selects in `json`, which must be text or a number. */
export function extractOne(json: unknown, path: string, field: string, step: StepName, status: number): string | number {
  const [v, ...more] = select(json, path);
  if (more.length || (typeof v !== 'string' && typeof v !== 'number') || v === '') {
    throw new PermanentError(
      `http rotator: ${step} answered HTTP ${status} without ${more.length ? 'a single value' : 'text or a number'} at ${path} (field ${field})`,
      { hint: `check target.requests.${step}.extract.${field} against what the API answers` },
    );
  }
  return v;
}

/** Resolves the references the strings hold (values tracked so that every log line scrubs them). */
async function resolveRefs(ctx: RotatorContext<HttpParams>, parts: unknown[]): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  for (const p of parts.flatMap(placeholdersOf)) {
    if (p.kind !== 'ref' || refs.has(p.ref)) continue;
    const value = await ctx.resolveRef(p.ref);
    trackSecret(value);
    refs.set(p.ref, value);
  }
  return refs;
}

async function readCapped(res: Response, label: string): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      // Leaving the loop cancels the stream.
      throw new PermanentError(`${label} answered more than ${MAX_ANSWER_BYTES} bytes`, {
        hint: 'point the request at an endpoint that answers about one key, not a listing or a page',
      });
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
