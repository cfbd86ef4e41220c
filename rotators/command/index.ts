// The command rotator, for any third-party API: every operation runs the policy's executable with
// a JSON request on stdin and reads a JSON answer on stdout (protocol.ts). rotor keeps the order of
// effects, retries, the store and the consumers; the script only talks to its API.
import { PermanentError, RotorError, UnavailableError } from '../../src/errors.js';
import { parseDuration } from '../../src/policy/duration.js';
import { REF_PATTERN } from '../../src/rotator/params.js';
import { scrub, trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import { ANSWERS, PROTOCOL_VERSION, parseFailure, type Answer, type CommandRequest, type Operation } from './protocol.js';
import { baseEnvironment, runProcess } from './process.js';
import type { CommandParams } from './schema.js';

export { commandRotatorParamsSchema, type CommandParams } from './schema.js';
export { PROTOCOL_VERSION, type CommandRequest } from './protocol.js';

type Ctx = RotatorContext<CommandParams>;
type Fields = Omit<CommandRequest, 'protocol' | 'op' | 'secretId' | 'runId' | 'config'>;

export default implementRotator<CommandParams>(descriptor, {
  async generate(ctx, current) {
    const { value } = await call(ctx, 'generate', { current });
    trackSecret(value);
    return value;
  },

  async apply(ctx, next, current) {
    await call(ctx, 'apply', { new: next, current });
  },

  async verify(ctx, value) {
    const answer = await call(ctx, 'verify', { value });
    if (!answer.ok) {
      throw new Error(
        `${ctx.secretId}: the target refused the credential${answer.reason ? `: ${scrub(answer.reason)}` : ''} (said ${label(ctx)})`,
      );
    }
  },

  async revoke(ctx, revoke, keep) {
    await call(ctx, 'revoke', { old: revoke, keep });
  },

  // Invariant 7: only the script knows what its API had before rotor, so it is asked when it says it can answer.
  async revokeInherited(ctx, keep) {
    if (!ctx.params.target.revokeInherited) return 0;
    return (await call(ctx, 'revoke-inherited', { keep })).revoked ?? 0;
  },

  async inUse(ctx, value) {
    if (!ctx.params.target.inUse) return 0;
    return (await call(ctx, 'in-use', { value })).sessions;
  },
});

function label(ctx: Ctx): string {
  return [ctx.params.target.executable, ...ctx.params.target.args].join(' ');
}

/** Runs one operation and returns its checked answer; every failure comes out scrubbed and classed. */
async function call<O extends Operation>(ctx: Ctx, op: O, fields: Fields): Promise<Answer<O>> {
  const { target } = ctx.params;
  for (const v of Object.values(fields)) if (v) trackSecret(v);
  const request: CommandRequest = {
    protocol: PROTOCOL_VERSION,
    op,
    secretId: ctx.secretId,
    runId: ctx.runId,
    config: target.config,
    ...fields,
  };
  const what = `${ctx.secretId}: ${op} (${label(ctx)})`;
  const result = await runProcess({
    executable: target.executable,
    args: [...target.args, op],
    env: { ...baseEnvironment(), ...(await environment(ctx)), ROTOR_SECRET_ID: ctx.secretId, ROTOR_RUN_ID: ctx.runId, ROTOR_OPERATION: op },
    timeoutMs: parseDuration(target.timeout) ?? 60_000,
    input: JSON.stringify(request),
    signal: ctx.signal,
    what,
  });
  const stderr = result.stderr ? `; stderr: ${result.stderr}` : '';
  let answer: unknown;
  try {
    answer = result.stdout.trim() ? JSON.parse(result.stdout) : undefined;
  } catch {
    answer = undefined; // what it printed is never repeated: it may hold a value
  }
  const failed = parseFailure(answer);
  if (failed) {
    const message = `${what} failed: ${scrub(failed.error)}${stderr}`;
    const hint = failed.hint === undefined ? undefined : scrub(failed.hint);
    throw failed.permanent ? new PermanentError(message, { hint }) : new RotorError(message, { hint });
  }
  if (result.code !== 0) {
    throw new RotorError(`${what} exited with code ${result.code}${stderr}`, {
      hint: 'a failed operation is retried; answer {"error": "...", "permanent": true} when retrying cannot help',
    });
  }
  if (answer === undefined) {
    throw new PermanentError(`${what} exited 0 without a JSON answer on stdout${stderr}`, { hint: docsHint(op) });
  }
  const parsed = ANSWERS[op].safeParse(answer);
  if (!parsed.success) {
    // Issue paths and messages only: the answer's values are never repeated.
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`).join('; ');
    throw new PermanentError(`${what} answered with the wrong shape: ${issues}`, { hint: docsHint(op) });
  }
  return parsed.data as Answer<O>;
}

function docsHint(op: Operation): string {
  const shapes: Record<Operation, string> = {
    generate: '{"value": {"apiKey": "..."}}',
    apply: '{"ok": true}',
    revoke: '{"ok": true}',
    verify: '{"ok": true} or {"ok": false, "reason": "..."}',
    'in-use': '{"sessions": 0}',
    'revoke-inherited': '{"ok": true, "revoked": 1}',
  };
  return `${op} must print ${shapes[op]} on stdout (docs/command-rotator.md)`;
}

/** The policy's env, references resolved; resolved values are tracked so stderr is scrubbed of them. */
async function environment(ctx: Ctx): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [name, text] of Object.entries(ctx.params.target.env)) {
    if (REF_PATTERN.test(text)) {
      let value: string;
      try {
        value = await ctx.resolveRef(text);
      } catch (err) {
        if (err instanceof RotorError) throw err;
        throw new UnavailableError(`${ctx.secretId}: cannot resolve ${text} for ${name}: ${scrub((err as Error).message)}`);
      }
      trackSecret(value);
      env[name] = value;
    } else {
      env[name] = text;
    }
  }
  return env;
}
