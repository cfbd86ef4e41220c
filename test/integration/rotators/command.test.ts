// The command rotator's process handling and protocol: the request each operation sends, answers
// checked, timeouts that kill the whole process group, stderr bounded and scrubbed of values,
// references in env resolved and rotor's own environment kept away from the script.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { trackSecret } from '../../../src/redact.js';
import type { RotatorContext } from '../../../src/rotator/contract.js';
import rotator, { commandRotatorParamsSchema, type CommandParams } from '../../../rotators/command/index.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'rotor-command-'));

/** Writes a node script that runs `body` with `req` (the parsed request) in scope. */
function script(name: string, body: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, `let input = ''; for await (const c of process.stdin) input += c; const req = JSON.parse(input);\n${body}\n`);
  return path;
}

function ctxFor(path: string, target: Record<string, unknown> = {}, refs: Record<string, string> = {}): RotatorContext<CommandParams> {
  return {
    secretId: 'vendor/token',
    runId: 'run-7',
    params: commandRotatorParamsSchema.parse({ target: { executable: process.execPath, args: [path], ...target } }),
    resolveRef: async (ref) => refs[ref] ?? Promise.reject(new Error(`unknown ref ${ref}`)),
    log: silentLogger,
    signal: new AbortController().signal,
  };
}

const current = { id: 'k1', apiKey: `ak_${randomBytes(12).toString('hex')}` };
const next = { id: 'k2', apiKey: `ak_${randomBytes(12).toString('hex')}` };
trackSecret(current);
trackSecret(next);

describe('the command rotator', () => {
  it('sends each operation its request on stdin and its name as the last argument', async () => {
    const log = join(dir, 'requests.jsonl');
    const path = script(
      'echo',
      `
      import('node:fs').then(({ appendFileSync }) => {
        appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), env: process.env.ROTOR_OPERATION, req }) + '\\n');
        const answers = { generate: { value: { id: 'k9', apiKey: 'ak_generated_value_1234' } }, apply: { ok: true }, revoke: { ok: true }, verify: { ok: true }, 'in-use': { sessions: 3 } };
        process.stdout.write(JSON.stringify(answers[req.op]));
      });`,
    );
    const ctx = ctxFor(path, { args: [path, '--account', 'acme'], config: { account: 'acme', region: 'eu' }, inUse: true });
    expect(await rotator.generate(ctx, current)).toEqual({ id: 'k9', apiKey: 'ak_generated_value_1234' });
    await rotator.apply(ctx, next, current);
    await rotator.verify(ctx, next);
    await rotator.revoke(ctx, current, next);
    expect(await rotator.inUse?.(ctx, current)).toBe(3);
    const seen = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(seen.map((s) => [s.argv.at(-1), s.env, s.req.op])).toEqual([
      ['generate', 'generate', 'generate'],
      ['apply', 'apply', 'apply'],
      ['verify', 'verify', 'verify'],
      ['revoke', 'revoke', 'revoke'],
      ['in-use', 'in-use', 'in-use'],
    ]);
    expect(seen[0].argv).toEqual(['--account', 'acme', 'generate']);
    const base = { protocol: 1, secretId: 'vendor/token', runId: 'run-7', config: { account: 'acme', region: 'eu' } };
    expect(seen.map((s) => s.req)).toEqual([
      { ...base, op: 'generate', current },
      { ...base, op: 'apply', new: next, current },
      { ...base, op: 'verify', value: next },
      { ...base, op: 'revoke', old: current, keep: next },
      { ...base, op: 'in-use', value: current },
    ]);
    expect(rotator.traits(ctx.params, ctx.secretId)).toMatchObject({ drain: true, overlap: false });
  });

  it('kills the process and its children when an operation times out', async () => {
    const pidFile = join(dir, 'child.pid');
    const path = script(
      'hang',
      `
      const { spawn } = await import('node:child_process');
      const { writeFileSync } = await import('node:fs');
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
      process.stderr.write('waiting for the vendor\\n');
      setInterval(() => {}, 1000);`,
    );
    const started = Date.now();
    const err = await rotator.verify(ctxFor(path, { timeout: '1s' }), next).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err?.message).toMatch(/verify .* did not answer within 1000 ms and was killed; stderr: waiting for the vendor/);
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(
      () => {
        try {
          process.kill(childPid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { message: 'the grandchild to be killed' },
    );
  });

  it('keeps a bounded tail of stderr, with every value scrubbed', async () => {
    const path = script(
      'noisy',
      `
      process.stderr.write('x'.repeat(200000) + '\\n');
      process.stderr.write('failed for key ' + req.new.apiKey + ' (current ' + req.current.apiKey + ')\\n');
      process.exit(3);`,
    );
    const err = await rotator.apply(ctxFor(path), next, current).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('exited with code 3');
    expect(err?.message).toContain('failed for key [redacted] (current [redacted])');
    expect(err?.message.length).toBeLessThan(2_500);
    expect(JSON.stringify([err?.message, err?.stack])).not.toContain(next.apiKey);
  });

  it('turns an error answer into a permanent or retryable error, scrubbed', async () => {
    const path = script(
      'refuse',
      `
      process.stdout.write(JSON.stringify({ error: 'vendor refused ' + req.old.apiKey, permanent: req.op === 'revoke', hint: 'ask the vendor' }));`,
    );
    const err = await rotator.revoke(ctxFor(path), current, next).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err?.message).toBe('vendor/token: revoke (' + process.execPath + ' ' + path + ') failed: vendor refused [redacted]');
    expect((err as PermanentError).hint).toBe('ask the vendor');
  });

  it('refuses an answer that is not JSON, or of the wrong shape, without repeating it', async () => {
    const garbage = script('garbage', `process.stdout.write('here is the key ' + req.value.apiKey);`);
    const err = await rotator.verify(ctxFor(garbage), next).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err?.message).toMatch(/exited 0 without a JSON answer/);
    expect(err?.message).not.toContain(next.apiKey);
    const shape = script('shape', `process.stdout.write(JSON.stringify({ value: { apiKey: 42n.toString(), nested: { no: 1 } } }));`);
    const err2 = await rotator.generate(ctxFor(shape), null).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err2?.message).toMatch(/answered with the wrong shape: value\.nested: /);
  });

  it('says what the target answered when verify fails', async () => {
    const path = script('no', `process.stdout.write(JSON.stringify({ ok: false, reason: 'HTTP 401 for ' + req.value.apiKey }));`);
    await expect(rotator.verify(ctxFor(path), next)).rejects.toThrow(/the target refused the credential: HTTP 401 for \[redacted\]/);
  });

  it("resolves references in env and passes nothing else of rotor's environment", async () => {
    process.env.ROTOR_TEST_SHOULD_NOT_LEAK = 'rotor-internal';
    const token = `tok_${randomBytes(10).toString('hex')}`;
    const path = script(
      'env',
      `
      process.stdout.write(JSON.stringify({ value: { apiKey: 'ak_env_check_value', token: String(process.env.VENDOR_TOKEN === ${JSON.stringify(token)}), plain: process.env.VENDOR_URL, leaked: String('ROTOR_TEST_SHOULD_NOT_LEAK' in process.env) } }));`,
    );
    const ctx = ctxFor(
      path,
      { env: { VENDOR_TOKEN: 'env:VENDOR_TOKEN', VENDOR_URL: 'https://vendor.example' } },
      { 'env:VENDOR_TOKEN': token },
    );
    expect(await rotator.generate(ctx, null)).toEqual({
      apiKey: 'ak_env_check_value',
      token: 'true',
      plain: 'https://vendor.example',
      leaked: 'false',
    });
    delete process.env.ROTOR_TEST_SHOULD_NOT_LEAK;
  });

  it('reports an executable that does not exist as permanent', async () => {
    const ctx = { ...ctxFor('x'), params: commandRotatorParamsSchema.parse({ target: { executable: join(dir, 'missing') } }) };
    await expect(rotator.verify(ctx, next)).rejects.toThrow(PermanentError);
  });
});
