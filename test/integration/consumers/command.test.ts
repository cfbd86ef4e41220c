import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { commandEntrySchema } from '../../../src/consumers/command/descriptor.js';
import { commandConsumer, type CommandParams } from '../../../src/consumers/command/index.js';
import { PermanentError } from '../../../src/errors.js';
import { trackSecret } from '../../../src/redact.js';
import { waitFor } from '../../helpers/wait.js';
import { contextFor, noticeFor } from './receiver.js';
import { rejectionOf } from '../../helpers/rejection.js';

/** Params as the policy loader hands them on: the schema's output, defaults applied, common fields off. */
function paramsOf(p: Omit<z.input<typeof commandEntrySchema>, 'type'>): CommandParams {
  const { type: _type, ...params } = commandEntrySchema.parse({ type: 'command', ...p });
  return params;
}

/** Appends one JSON line per run: the ROTOR_* and APP_TEST_* environment, two probes, stdin and argv. */
const RECORD = `
import { appendFileSync } from 'node:fs';
let stdin = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) stdin += chunk;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ROTOR_') || k.startsWith('APP_TEST_')));
appendFileSync(process.argv[2], JSON.stringify({ env, path: process.env.PATH ?? null, stdin, argv: process.argv.slice(3) }) + '\\n');
process.exit(Number(process.env.APP_TEST_EXIT ?? 0));
`;

/** Fails loudly: echoes the password it was given into stderr (a careless script), then exits 3. */
const FAIL = `
let stdin = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) stdin += chunk;
const { password } = JSON.parse(stdin);
process.stderr.write('x'.repeat(200_000) + '\\n');
process.stderr.write('reload failed: the app rejected password ' + password + '\\n');
process.exit(3);
`;

/** Starts a grandchild in its process group, records its pid, and never ends. */
const HANG = `
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
writeFileSync(process.argv[2], String(grandchild.pid));
setInterval(() => {}, 1000);
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed process whose parent is gone may linger as a zombie until init reaps it: that is dead too.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('command consumer', () => {
  let dir: string;
  let record: string;
  let fail: string;
  let hang: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rotor-command-'));
    record = join(dir, 'record.mjs');
    fail = join(dir, 'fail.mjs');
    hang = join(dir, 'hang.mjs');
    await writeFile(record, RECORD);
    await writeFile(fail, FAIL);
    await writeFile(hang, HANG);
  });
  afterAll(async () => {
    delete process.env.ROTOR_TEST_ADMIN_URL;
    delete process.env.APP_TEST_SHARED;
    await rm(dir, { recursive: true, force: true });
  });

  async function runs(out: string): Promise<Array<{ env: Record<string, string>; path: string | null; stdin: string; argv: string[] }>> {
    const text = await readFile(out, 'utf8').catch(() => '');
    return text.trim()
      ? text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as never)
      : [];
  }

  it("runs the program without a shell, with the version in its environment and nothing of rotor's own but the basics", async () => {
    const out = join(dir, `env-${randomBytes(4).toString('hex')}.jsonl`);
    process.env.ROTOR_TEST_ADMIN_URL = 'postgres://admin:hunter2-admin@db.internal/payments';
    process.env.APP_TEST_SHARED = 'visible';
    // rotor's own settings (ROTOR_*) can never be inherited (test/unit/policy/trust.test.ts); others can.
    const params = paramsOf({
      run: process.execPath,
      args: [record, out, '$HOME', '; echo hi'],
      timeout: '10s',
      inheritEnv: ['APP_TEST_SHARED'],
    });
    const notice = noticeFor('payments/db', { revokeAfter: new Date('2030-01-02T03:04:05.000Z') });
    const password = `pw-${randomBytes(12).toString('hex')}`;
    // passValue unset: the value is given (the type carries values) but must not be passed on.
    await commandConsumer.notify(contextFor(params), notice, { username: 'app_a', password });

    const [seen] = await runs(out);
    expect(seen!.env).toEqual({
      ROTOR_SECRET_ID: 'payments/db',
      ROTOR_RUN_ID: notice.runId,
      ROTOR_VERSION_ID: notice.versionId,
      ROTOR_STORE_BACKEND: 'local',
      ROTOR_STORE_LOCATION: 'payments/db',
      ROTOR_REVOKE_AFTER: '2030-01-02T03:04:05.000Z',
      APP_TEST_SHARED: 'visible',
    });
    expect(seen!.path).toBe(process.env.PATH);
    expect(seen!.stdin).toBe('');
    // No shell: arguments arrive verbatim.
    expect(seen!.argv).toEqual(['$HOME', '; echo hi']);
  });

  it('passes the value as JSON on stdin when passValue is set', async () => {
    const out = join(dir, `stdin-${randomBytes(4).toString('hex')}.jsonl`);
    const value = { username: 'app_b', password: `pw-${randomBytes(12).toString('hex')}` };
    await commandConsumer.notify(contextFor(paramsOf({ run: process.execPath, args: [record, out], passValue: true })), noticeFor(), value);
    const [seen] = await runs(out);
    expect(JSON.parse(seen!.stdin)).toEqual(value);
    expect(Object.values(seen!.env)).not.toContain(value.password);
  });

  it('confirms a version it succeeded for without running again; re-runs when it has no record (restart)', async () => {
    const out = join(dir, `confirm-${randomBytes(4).toString('hex')}.jsonl`);
    const ctx = contextFor(paramsOf({ run: process.execPath, args: [record, out] }));
    const notice = noticeFor();
    await commandConsumer.notify(ctx, notice, undefined);
    expect(await commandConsumer.confirm(ctx, notice)).toBe(notice.versionId);
    expect(await runs(out)).toHaveLength(1);
    const unknown = noticeFor();
    expect(await commandConsumer.confirm(ctx, unknown)).toBe(unknown.versionId);
    expect((await runs(out)).map((r) => r.env.ROTOR_VERSION_ID)).toEqual([notice.versionId, unknown.versionId]);
  });

  it('re-runs a passValue command from confirm with the value the engine gives it (restart after notify)', async () => {
    const out = join(dir, `novalue-${randomBytes(4).toString('hex')}.jsonl`);
    const ctx = contextFor(paramsOf({ run: process.execPath, args: [record, out], passValue: true }));
    const notice = noticeFor();
    // Without the value it cannot, and says why, running nothing.
    const err = await rejectionOf(commandConsumer.confirm(ctx, notice));
    expect(err.message).toContain('needs the value to run again');
    expect(await runs(out)).toHaveLength(0);
    const value = { username: 'app_b', password: `pw-${randomBytes(12).toString('hex')}` };
    expect(await commandConsumer.confirm(ctx, notice, value)).toBe(notice.versionId);
    const [seen] = await runs(out);
    expect(JSON.parse(seen!.stdin)).toEqual(value);
  });

  it('a non-zero exit fails with the code and the end of stderr, the value redacted and the size bounded', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    trackSecret(password);
    const notice = noticeFor();
    const err = await rejectionOf(
      commandConsumer.notify(contextFor(paramsOf({ run: process.execPath, args: [fail], passValue: true })), notice, {
        username: 'app_a',
        password,
      }),
    );
    expect(err.message).toContain(`command ${process.execPath} exited with code 3 for version ${notice.versionId}; stderr: …`);
    expect(err.message).toContain('reload failed: the app rejected password [redacted]');
    expect(err.message).not.toContain(password);
    expect(err.message.length).toBeLessThan(2_500);
    // A failed run is no confirmation: with no record and a value needed, confirm cannot succeed.
    await expect(
      commandConsumer.confirm(contextFor(paramsOf({ run: process.execPath, args: [fail], passValue: true })), notice),
    ).rejects.toThrow();
  });

  it('reports the exit code when the failure is quiet', async () => {
    const out = join(dir, `quiet-${randomBytes(4).toString('hex')}.jsonl`);
    process.env.APP_TEST_EXIT = '7';
    try {
      const notice = noticeFor();
      const err = await rejectionOf(
        commandConsumer.notify(
          contextFor(paramsOf({ run: process.execPath, args: [record, out], inheritEnv: ['APP_TEST_EXIT'] })),
          notice,
          undefined,
        ),
      );
      expect(err.message).toBe(`command ${process.execPath} exited with code 7 for version ${notice.versionId}`);
    } finally {
      delete process.env.APP_TEST_EXIT;
    }
  });

  it('kills the whole process group at the timeout', async () => {
    const pidFile = join(dir, `hang-${randomBytes(4).toString('hex')}.pid`);
    const started = Date.now();
    const err = await rejectionOf(
      commandConsumer.notify(
        contextFor(paramsOf({ run: process.execPath, args: [hang, pidFile], timeout: '500ms' })),
        noticeFor(),
        undefined,
      ),
    );
    expect(err.message).toBe(`command ${process.execPath} did not finish within 500ms; its process group was killed`);
    expect(Date.now() - started).toBeLessThan(3_000);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    await waitFor(() => !alive(grandchild), { timeoutMs: 3_000, message: `grandchild ${grandchild} to be killed` });
  });

  it('a program that cannot be started is a permanent error', async () => {
    const err = await rejectionOf(
      commandConsumer.notify(contextFor(paramsOf({ run: join(dir, 'no-such-program') })), noticeFor(), undefined),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`command ${join(dir, 'no-such-program')} cannot be started: ENOENT`);
  });
});
