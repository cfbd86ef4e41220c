// Parameters of the http rotator, as written under a secret in a policy: one request template per
// step, and the checks validate makes on them (each problem located at the string it is about).
import { z } from 'zod';
import { duration } from '../../src/policy/fields.js';
import { isSecretKey } from '../../src/redact.js';
import { isLoopbackHost } from '../../src/rotator/loopback.js';
import { credentialRef } from '../../src/rotator/params.js';
import { jsonPathProblem } from './extract.js';
import { FIELD_NAME, TemplateError, placeholdersOf, type Placeholder } from './template.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export const STEPS = ['create', 'verify', 'revoke', 'list', 'inUse'] as const;
export type StepName = (typeof STEPS)[number];

/** Status codes that mean the step did what it should, when the policy does not list its own. */
export const DEFAULT_EXPECT: Record<StepName, number[]> = {
  create: [200, 201],
  verify: [200],
  // 404: already gone, so a revoke run again after a crash succeeds.
  revoke: [200, 202, 204, 404],
  list: [200],
  inUse: [200],
};

/** Which credentials each step's placeholders may name (README of the rotator: docs/http-rotator.md). */
const SCOPES: Record<StepName, { current?: string; next?: string }> = {
  create: { current: 'the credential in use (CURRENT, or `initial` at the first rotation)' },
  verify: { next: 'the credential being verified' },
  revoke: { current: 'the credential being revoked', next: 'the credential that stays' },
  list: { next: 'the credential that stays' },
  inUse: { current: 'the credential whose use is counted' },
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const requestSchema = z.strictObject({
  method: z.enum(HTTP_METHODS),
  /** https://, or http:// to a loopback host; scheme and host written out (placeholders only after them). */
  url: z.string().min(1),
  /** Header values may hold placeholders; credentials belong here (`Authorization: Bearer {{ ... }}`). */
  headers: z.record(z.string().regex(HEADER_NAME, { error: 'must be an HTTP header name' }), z.string()).default({}),
  /** A JSON body (map or list); its strings may hold placeholders. Sent with content-type application/json. */
  body: z
    .unknown()
    .refine((b) => b !== null && typeof b === 'object', { error: 'must be a JSON map or list' })
    .optional(),
  /** Status codes that mean success; anything else fails the step. */
  expect: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  /** JSONPath into the answer, per field. create: the new value's fields; list: `ids`-like lists; inUse: `count`. */
  extract: z.record(z.string().regex(FIELD_NAME, { error: 'must be a field name: letters, digits and _' }), z.string()).optional(),
});

export type RequestTemplate = z.infer<typeof requestSchema>;

const paramsObject = z.strictObject({
  target: z.strictObject({
    requests: z.strictObject({
      /** Makes the new key; `extract` names the fields of the stored value. */
      create: requestSchema,
      /** Authenticates with `{{ next.* }}`: a status in `expect` means the key works. */
      verify: requestSchema,
      /** Makes `{{ current.* }}` stop working (authenticate with `{{ next.* }}` or an admin reference). */
      revoke: requestSchema,
      /** Lists the account's keys (`extract`: one list per field); every key but rotor's is revoked. */
      list: requestSchema.optional(),
      /** Counts live use of `{{ current.* }}` (`extract: { count: ... }`): the drain check. */
      inUse: requestSchema.optional(),
    }),
    /**
     * The credential in use before rotor's first rotation, for create templates that authenticate
     * with `{{ current.* }}`; revoked at the end of that rotation. Secret fields must be references.
     */
    initial: z.record(z.string().regex(FIELD_NAME), z.string().min(1)).optional(),
    /** Per request; a request that takes longer is retried by the engine. @defaultValue 30s */
    timeout: duration().default('30s'),
  }),
  /** Old and new keys both work until revoke (true for create/delete APIs). @defaultValue true */
  overlap: z.boolean().default(true),
});

/** A create/test/delete API, written in the policy: no code. */
export const httpRotatorParamsSchema = paramsObject.superRefine((params, ctx) => {
  for (const problem of templateProblems(params)) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
});

export type HttpParams = z.infer<typeof httpRotatorParamsSchema>;

interface Problem {
  path: (string | number)[];
  message: string;
}

/** Every problem of the templates, each at the string it is about. */
export function templateProblems({ target: params }: z.infer<typeof paramsObject>): Problem[] {
  const out: Problem[] = [];
  const fields = new Set(Object.keys(params.requests.create.extract ?? {}));
  const initial = params.initial ?? {};

  for (const step of STEPS) {
    const req = params.requests[step];
    if (!req) continue;
    const at = (...rest: (string | number)[]) => ['target', 'requests', step, ...rest];
    checkUrl(req.url, at('url'), out);
    const strings: Array<[(string | number)[], unknown]> = [
      [at('url'), req.url],
      ...Object.entries(req.headers).map(([k, v]): [(string | number)[], unknown] => [at('headers', k), v]),
      ...bodyStrings(req.body, at('body')),
    ];
    for (const [path, text] of strings) {
      let found: Placeholder[];
      try {
        found = placeholdersOf(text);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        out.push({ path, message: err.message });
        continue;
      }
      for (const p of found) {
        const problem = placeholderProblem(p, step, path[3] === 'url', fields, initial);
        if (problem) out.push({ path, message: problem });
      }
    }
    for (const [name, jsonPath] of Object.entries(req.extract ?? {})) {
      const problem = jsonPathProblem(jsonPath);
      if (problem) out.push({ path: at('extract', name), message: `(${jsonPath}) ${problem}` });
    }
  }

  if (!fields.size) {
    out.push({
      path: ['target', 'requests', 'create'],
      message: "has no `extract`: name the new key's fields and where the answer holds them, e.g. extract: { id: $.id, secret: $.secret }",
    });
  } else if (![...fields].some(isSecretKey)) {
    out.push({
      path: ['target', 'requests', 'create', 'extract'],
      message:
        'names no secret field: call the field that holds the key so rotor knows to keep it out of logs (a name with secret, token, key or password in it)',
    });
  }

  const list = params.requests.list;
  if (list) {
    const listed = Object.keys(list.extract ?? {});
    if (!listed.length) {
      out.push({
        path: ['target', 'requests', 'list'],
        message: 'has no `extract`: say where the answer lists the keys, e.g. extract: { id: $.data[*].id }',
      });
    } else {
      // Listed keys are revoked with the revoke template: it can only name what the list gives.
      for (const f of fieldsOf(params.requests.revoke, 'current')) {
        if (!listed.includes(f)) {
          out.push({
            path: ['target', 'requests', 'list', 'extract'],
            message: `does not list \`${f}\`, which target.requests.revoke needs ({{ current.${f} }}) to revoke a listed key: add \`${f}: $.<path>[*]\``,
          });
        }
      }
    }
  }

  const inUse = params.requests.inUse;
  if (inUse && !inUse.extract?.count) {
    out.push({
      path: ['target', 'requests', 'inUse'],
      message: 'needs `extract: { count: $.<path> }`: where the answer says how many live sessions use the key',
    });
  }

  // The first rotation revokes the initial credential with the revoke template.
  if (params.initial) {
    for (const f of fieldsOf(params.requests.revoke, 'current')) {
      if (!(f in initial)) {
        out.push({
          path: ['target', 'initial'],
          message: `has no \`${f}\`, which target.requests.revoke needs ({{ current.${f} }}) to revoke the initial credential after the first rotation`,
        });
      }
    }
    for (const [name, value] of Object.entries(initial)) {
      if (isSecretKey(name) && !credentialRef().safeParse(value).success) {
        out.push({
          path: ['target', 'initial', name],
          message: 'must be a reference (env:NAME, file:PATH or aws-sm:ID), never the credential itself',
        });
      }
    }
  }
  return out;
}

function placeholderProblem(
  p: Placeholder,
  step: StepName,
  inUrl: boolean,
  fields: Set<string>,
  initial: Record<string, string>,
): string | undefined {
  if (p.kind === 'id') return undefined;
  if (p.kind === 'ref') {
    return inUrl
      ? `puts a credential (${p.text}) in the URL, where proxies and access logs keep it: send it in a header or the body`
      : undefined;
  }
  const scope = SCOPES[step];
  if (!scope[p.of]) {
    const may = Object.entries(scope)
      .map(([of, what]) => `{{ ${of}.* }} (${what})`)
      .join(' and ');
    const why = step === 'create' && p.of === 'next' ? ': the new key exists only once create answers' : '';
    return `uses ${p.text}, which ${step} does not have${why}; ${step} may use ${may}`;
  }
  if (!fields.has(p.field)) {
    return `uses ${p.text}, but target.requests.create.extract sets no field \`${p.field}\`: add \`${p.field}: $.<path>\` there, or use one of ${[...fields].join(', ') || '(none yet)'}`;
  }
  if (inUrl && isSecretKey(p.field)) {
    return `puts the secret field ${p.text} in the URL, where proxies and access logs keep it: send it in a header or the body`;
  }
  if (step === 'create' && p.of === 'current' && !(p.field in initial)) {
    return `uses ${p.text}, which the first rotation does not have: add \`initial: { ${p.field}: env:... }\` (the key in use before rotor)`;
  }
  return undefined;
}

/** `https://` anywhere, `http://` only to loopback; scheme and host must be literal so this can be checked. */
function checkUrl(url: string, path: (string | number)[], out: Problem[]): void {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(url);
  if (!m) {
    out.push({ path, message: 'must be an absolute URL: https://host/path' });
    return;
  }
  const authority = m[2]!;
  if (authority.includes('{{')) {
    out.push({ path, message: 'has a placeholder in its host: write the host out, so validate can check where keys are sent' });
    return;
  }
  if (authority.includes('@')) {
    out.push({ path, message: 'has user:password@ in it: send credentials in a header (Authorization) with a reference' });
    return;
  }
  const scheme = m[1]!.toLowerCase();
  let host: string;
  try {
    host = new URL(`${scheme}://${authority}`).hostname;
  } catch {
    out.push({ path, message: 'has a host that is not valid' });
    return;
  }
  if (scheme === 'https') return;
  if (scheme === 'http' && isLoopbackHost(host)) return;
  out.push({
    path,
    message:
      scheme === 'http'
        ? `is http:// to ${host}, which is not loopback: keys would cross the network in clear; use https://`
        : `must be https:// (or http:// to a loopback host), not ${scheme}://`,
  });
}

/** Names of the `{{ <of>.FIELD }}` fields a request uses (its templates parse: validate reports the rest). */
export function fieldsOf(req: RequestTemplate | undefined, of: 'current' | 'next'): string[] {
  if (!req) return [];
  const found = new Set<string>();
  for (const text of [req.url, ...Object.values(req.headers), req.body]) {
    try {
      for (const p of placeholdersOf(text)) if (p.kind === 'field' && p.of === of) found.add(p.field);
    } catch {
      // reported by templateProblems
    }
  }
  return [...found];
}

function bodyStrings(body: unknown, path: (string | number)[]): Array<[(string | number)[], unknown]> {
  if (typeof body === 'string') return [[path, body]];
  if (Array.isArray(body)) return body.flatMap((b, i) => bodyStrings(b, [...path, i]));
  if (body !== null && typeof body === 'object') return Object.entries(body).flatMap(([k, v]) => bodyStrings(v, [...path, k]));
  return [];
}
