// The conformance suite every rotator passes, built-in or plug-in: what the engine relies on,
// checked against a live target. Plain functions, no test framework: `rotor conformance` runs
// them from the CLI, and conformance-vitest.ts registers each check as a vitest test.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { isSecretKey, trackSecret } from '../redact.js';
import type { Rotator, RotatorContext, SecretValue } from './contract.js';

/** What a rotator needs to be checked: its parameters and a live target they point at. */
export interface ConformanceHarness {
  /** The rotator's parameters as a policy writes them (strategy, target, generate, overlap). */
  params: Record<string, unknown>;
  /** Resolves the references in `params` (env:, file:). @defaultValue env: from process.env */
  resolveRef?(ref: string): Promise<string>;
  /**
   * Opens a live session with a credential, as a consumer would (a client connection), until
   * `close`. Needed when the rotator implements inUse or terminate.
   */
  openSession?(value: SecretValue): Promise<{ close(): Promise<void> }>;
  /** A credential that must not work, made from one that does. @defaultValue every secret field replaced */
  wrong?(value: SecretValue): SecretValue;
  /**
   * Gives the target the credentials it had before rotor managed it, the way an operator set them
   * (a password set by hand; with two accounts, one on each) and returns them. The check
   * "first-rotation" then holds the rotator to the promise every rotator makes (docs/design.md,
   * invariant 7): after the first rotation (apply, then revokeInherited where the rotator has
   * it) none of them works and rotor's does. Without it that check is not run, and the report
   * says so.
   */
  inherited?(): Promise<SecretValue | SecretValue[]>;
  /** The secret id the rotator sees. @defaultValue conformance/<rotator name> */
  secretId?: string;
  /** How long inUse may take to see a session end. @defaultValue 5000 */
  settleMs?: number;
  /** Stops what the harness started. */
  close?(): Promise<void>;
}

export interface ConformanceCheck {
  id: CheckId;
  name: string;
}

type CheckId =
  'create' | 'wrong' | 'in-use' | 'terminate' | 'rotate' | 'revoke' | 'discard' | 'discard-first' | 'first-rotation' | 'no-values';

/** Thrown by a check that cannot run with what the harness gives; reported as not run, not as passed. */
export class CheckNotRun extends Error {}

/** The checks that apply to `rotator`, in the order they must run (each builds on the one before). */
export function conformanceChecks(rotator: Pick<Rotator<unknown>, 'inUse' | 'terminate'>): ConformanceCheck[] {
  return [
    { id: 'create', name: 'creates a credential that verifies; applying it twice changes nothing' },
    { id: 'wrong', name: 'verify rejects a wrong credential' },
    ...(rotator.inUse ? [{ id: 'in-use' as const, name: 'inUse counts a live session, and stops counting it once it ends' }] : []),
    ...(rotator.terminate ? [{ id: 'terminate' as const, name: 'terminate ends the live sessions of a credential' }] : []),
    { id: 'rotate', name: 'applies the next credential idempotently; the old one keeps working when the rotator promises overlap' },
    { id: 'revoke', name: 'revoke makes the old credential fail and keeps the new one; revoking twice is harmless' },
    { id: 'discard', name: 'revoke undoes a new credential (discard, rollback) and keeps the current one' },
    {
      id: 'discard-first',
      name: "revoke with nothing to keep undoes a first rotation's credential, and only it (a failed first run)",
    },
    {
      id: 'first-rotation',
      name: "the first rotation leaves only rotor's credential working: what the target had before rotor is refused",
    },
    { id: 'no-values', name: 'no secret value appears in any error or log line' },
  ];
}

/** One pass of the suite over one rotator and target; run the checks in order. */
export class ConformanceRun {
  readonly checks: ConformanceCheck[];
  private readonly ctx: RotatorContext<unknown>;
  private readonly logs: string[] = [];
  private readonly errors: Error[] = [];
  private readonly values: SecretValue[] = [];
  private v1: SecretValue | undefined;
  private v2: SecretValue | undefined;

  constructor(
    private readonly rotator: Rotator<unknown>,
    private readonly harness: ConformanceHarness,
  ) {
    this.checks = conformanceChecks(rotator);
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.logs.push(chunk.toString());
        done();
      },
    });
    // Not rotor's logger: that one scrubs tracked values, and the point is to see what the rotator writes.
    const log = pino({ level: 'trace' }, sink);
    this.ctx = {
      secretId: harness.secretId ?? `conformance/${rotator.name}`,
      runId: `conformance-${randomBytes(4).toString('hex')}`,
      params: rotator.paramsSchema.parse(harness.params),
      resolveRef: harness.resolveRef ?? envRef,
      log,
      signal: new AbortController().signal,
    };
  }

  async run(id: CheckId): Promise<void> {
    switch (id) {
      case 'create':
        return this.create();
      case 'wrong':
        return this.wrong();
      case 'in-use':
        return this.inUse();
      case 'terminate':
        return this.terminate();
      case 'rotate':
        return this.rotate();
      case 'revoke':
        return this.revoke();
      case 'discard':
        return this.discard();
      case 'discard-first':
        return this.discardFirst();
      case 'first-rotation':
        return this.firstRotation();
      case 'no-values':
        return this.noValues();
    }
  }

  async close(): Promise<void> {
    await this.harness.close?.();
  }

  private async create(): Promise<void> {
    if (this.rotator.preflight) await this.call('preflight', () => this.rotator.preflight!(this.ctx, null));
    const v1 = await this.generate(null);
    await this.call('apply', () => this.rotator.apply(this.ctx, v1, null));
    await this.call('apply (again)', () => this.rotator.apply(this.ctx, v1, null));
    await this.expectWorks(v1, 'the credential just applied (twice)');
    this.v1 = v1;
  }

  private async wrong(): Promise<void> {
    const v1 = this.need('v1');
    const wrong = (this.harness.wrong ?? tamper)(v1);
    this.track(wrong);
    if (secretFields(wrong).some((f) => secretFields(v1).includes(f)))
      throw new Error("the harness's wrong credential shares a secret field with the real one");
    await this.expectFails(wrong, 'a credential with every secret field changed');
    await this.expectWorks(v1, 'the real credential, after a wrong one was tried');
  }

  private async inUse(): Promise<void> {
    const v1 = this.need('v1');
    const open = this.needSession();
    const before = await this.call('inUse', () => this.rotator.inUse!(this.ctx, v1));
    const session = await open(v1);
    let during: number;
    try {
      during = await this.call('inUse', () => this.rotator.inUse!(this.ctx, v1));
    } finally {
      await session.close();
    }
    if (!(during >= before + 1)) throw new Error(`inUse said ${during} with a live session open, ${before} before it was opened`);
    await this.settle(v1, before, 'the session closed');
  }

  private async terminate(): Promise<void> {
    const v1 = this.need('v1');
    const open = this.needSession();
    const session = await open(v1);
    try {
      const ended = await this.call('terminate', () => this.rotator.terminate!(this.ctx, v1));
      if (!(ended >= 1)) throw new Error(`terminate said it ended ${ended} sessions with one open`);
      if (this.rotator.inUse) await this.settle(v1, 0, 'terminate');
    } finally {
      await session.close().catch(() => undefined);
    }
    await this.expectWorks(v1, 'the credential whose sessions were ended');
  }

  private async rotate(): Promise<void> {
    const v1 = this.need('v1');
    const v2 = await this.generate(v1);
    await this.call('apply', () => this.rotator.apply(this.ctx, v2, v1));
    await this.call('apply (again)', () => this.rotator.apply(this.ctx, v2, v1));
    await this.expectWorks(v2, 'the next credential, applied twice');
    if (this.rotator.traits(this.ctx.params, this.ctx.secretId).overlap)
      await this.expectWorks(v1, 'the old credential before revoke (traits say overlap)');
    this.v2 = v2;
  }

  private async revoke(): Promise<void> {
    const v1 = this.need('v1');
    const v2 = this.need('v2');
    await this.call('revoke', () => this.rotator.revoke(this.ctx, v1, v2));
    await this.expectFails(v1, 'the old credential after revoke');
    await this.expectWorks(v2, 'the new credential after revoke');
    await this.call('revoke (again)', () => this.rotator.revoke(this.ctx, v1, v2));
    await this.expectWorks(v2, 'the new credential after revoking the old one twice');
  }

  private async discard(): Promise<void> {
    const v2 = this.need('v2');
    const v3 = await this.generate(v2);
    await this.call('apply', () => this.rotator.apply(this.ctx, v3, v2));
    await this.expectWorks(v3, 'a new credential, before it is discarded');
    await this.call('revoke', () => this.rotator.revoke(this.ctx, v3, v2));
    await this.expectFails(v3, 'a discarded credential');
    await this.expectWorks(v2, 'the current credential after a new one was discarded');
  }

  /**
   * What the engine does when a secret's first run fails before its credential became CURRENT
   * (invariant 8): revoke with nothing of rotor's to keep. The credential the target has now (v2)
   * stands in for what it had before rotor: a first credential that never took leaves it alone,
   * and one that took stops working while, where the rotator promises overlap, v2 goes on working.
   */
  private async discardFirst(): Promise<void> {
    if (this.rotator.traits(this.ctx.params, this.ctx.secretId).storeIsTarget) return; // leaving the store is the undo
    const v2 = this.need('v2');
    const untried = await this.generate(null);
    await this.call('revoke (never applied, nothing to keep)', () => this.rotator.revoke(this.ctx, untried, null));
    await this.expectWorks(v2, 'the credential the target has, after revoking a first credential that was never applied');
    const first = await this.generate(null);
    await this.call('apply', () => this.rotator.apply(this.ctx, first, null));
    await this.expectWorks(first, 'a first credential, before it is taken back');
    await this.call('revoke (nothing to keep)', () => this.rotator.revoke(this.ctx, first, null));
    await this.expectFails(first, 'a first credential taken back with nothing to keep');
    await this.call('revoke (nothing to keep, again)', () => this.rotator.revoke(this.ctx, first, null));
    if (this.rotator.traits(this.ctx.params, this.ctx.secretId).overlap)
      await this.expectWorks(v2, 'the credential the target had, after a first credential was taken back (traits say overlap)');
  }

  private async firstRotation(): Promise<void> {
    if (this.rotator.traits(this.ctx.params, this.ctx.secretId).storeIsTarget) return; // the store is the credential: nothing outside it
    if (!this.harness.inherited) {
      throw new CheckNotRun(
        'the harness gives no inherited(): give the target the credentials it had before rotor (a password set by hand) and return them, so the first rotation can be held to revoking them',
      );
    }
    // The target as an operator left it before rotor: rotor's earlier credentials are gone from the story.
    const before = [await this.harness.inherited()].flat();
    for (const b of before) this.track(b);
    for (const b of before) await this.expectWorks(b, "a credential the harness set up as the target's own (before rotor)");
    // What the engine does on a secret's first run: no current credential, then revoke's first-run branch.
    const first = await this.generate(null);
    await this.call('apply', () => this.rotator.apply(this.ctx, first, null));
    await this.expectWorks(first, "rotor's first credential");
    if (this.rotator.revokeInherited) {
      await this.call('revokeInherited', () => this.rotator.revokeInherited!(this.ctx, first));
      await this.call('revokeInherited (again)', () => this.rotator.revokeInherited!(this.ctx, first));
    }
    for (const b of before) await this.expectFails(b, 'a credential the target had before rotor, after the first rotation');
    await this.expectWorks(first, "rotor's credential after the first rotation");
  }

  private async noValues(): Promise<void> {
    if (!this.values.length) throw new Error('no credential was generated: run the earlier checks first');
    const secrets = [...new Set(this.values.flatMap(secretFields))];
    const texts = [...this.errors.flatMap(errorTexts), ...this.logs];
    const leaks = texts.filter((t) => secrets.some((s) => t.includes(s)));
    if (leaks.length) {
      // Say where, never what: the leaked value itself is not repeated.
      const where = leaks.map((t) => secrets.reduce((text, s) => text.split(s).join('[VALUE]'), t).slice(0, 300));
      throw new Error(`a secret value appears in ${leaks.length} error or log text(s):\n${where.join('\n')}`);
    }
  }

  // --- helpers ---

  private async generate(current: SecretValue | null): Promise<SecretValue> {
    const value = await this.call('generate', () => this.rotator.generate(this.ctx, current));
    if (!value || typeof value !== 'object' || !secretFields(value).length) {
      throw new Error(
        'generate must return a flat object with at least one secret field (a name with password, secret, key, token or credential in it)',
      );
    }
    this.track(value);
    for (const earlier of this.values.slice(0, -1)) {
      if (secretFields(value).some((s) => secretFields(earlier).includes(s)))
        throw new Error('generate returned a secret value it had returned before');
    }
    return value;
  }

  private track(value: SecretValue): void {
    // As the engine does with every value it hands to a rotator.
    trackSecret(value);
    this.values.push(value);
  }

  /** Calls the rotator; a throw is recorded for the no-values check and rethrown with the step named. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.errors.push(e);
      throw new Error(`${what} threw: ${e.message}`, { cause: e });
    }
  }

  private async expectWorks(value: SecretValue, what: string): Promise<void> {
    await this.call(`verify (${what})`, () => this.rotator.verify(this.ctx, value));
  }

  private async expectFails(value: SecretValue, what: string): Promise<void> {
    try {
      await this.rotator.verify(this.ctx, value);
    } catch (err) {
      this.errors.push(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    throw new Error(`verify accepted ${what}; it must throw`);
  }

  private async settle(value: SecretValue, expected: number, after: string): Promise<void> {
    const deadline = Date.now() + (this.harness.settleMs ?? 5_000);
    let n = -1;
    while (Date.now() < deadline) {
      n = await this.call('inUse', () => this.rotator.inUse!(this.ctx, value));
      if (n <= expected) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`inUse still says ${n} (expected ${expected}) ${this.harness.settleMs ?? 5_000} ms after ${after}`);
  }

  private need(which: 'v1' | 'v2'): SecretValue {
    const v = this[which];
    if (!v)
      throw new Error(`needs the credential an earlier check creates (${which === 'v1' ? 'create' : 'rotate'}); it failed or did not run`);
    return v;
  }

  private needSession(): NonNullable<ConformanceHarness['openSession']> {
    if (!this.harness.openSession)
      throw new Error('the rotator implements inUse/terminate: the harness must provide openSession(value) to check them');
    return this.harness.openSession.bind(this.harness);
  }
}

export interface CheckResult {
  check: ConformanceCheck;
  ok: boolean;
  ms: number;
  error?: Error;
  /** Why the check could not run with this harness (ok is then false, and it is no failure). */
  notRun?: string;
}

/** Runs every check in order (also after a failure, so the report is whole) and closes the harness. */
export async function runConformance(
  rotator: Rotator<unknown>,
  harness: ConformanceHarness,
  onResult?: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const run = new ConformanceRun(rotator, harness);
  try {
    for (const check of run.checks) {
      const started = Date.now();
      let result: CheckResult;
      try {
        await run.run(check.id);
        result = { check, ok: true, ms: Date.now() - started };
      } catch (err) {
        result =
          err instanceof CheckNotRun
            ? { check, ok: false, ms: Date.now() - started, notRun: err.message }
            : { check, ok: false, ms: Date.now() - started, error: err instanceof Error ? err : new Error(String(err)) };
      }
      results.push(result);
      onResult?.(result);
    }
  } finally {
    await run.close();
  }
  return results;
}

/** The values of a credential's secret fields (password, apiKey, token, ...). */
function secretFields(value: SecretValue): string[] {
  return Object.entries(value).flatMap(([k, v]) => (typeof v === 'string' && isSecretKey(k) ? [v] : []));
}

/** The credential with every secret field replaced by random text of the same length. */
function tamper(value: SecretValue): SecretValue {
  const out: Record<string, string | number> = { ...value };
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' && isSecretKey(k)) out[k] = randomBytes(v.length).toString('base64url').slice(0, Math.max(v.length, 8));
  }
  return out;
}

/** Message, stack, string fields and causes of an error: everywhere a value could hide. */
function errorTexts(err: unknown, depth = 0): string[] {
  if (!(err instanceof Error) || depth > 5) return [];
  const own = Object.entries(err).flatMap(([k, v]) => (k !== 'cause' ? [typeof v === 'string' ? v : safeJson(v)] : []));
  return [err.message, err.stack ?? '', ...own, ...errorTexts(err.cause, depth + 1)];
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

async function envRef(ref: string): Promise<string> {
  const m = /^env:(.+)$/.exec(ref);
  const value = m ? process.env[m[1] as string] : undefined;
  if (value === undefined)
    throw new Error(`cannot resolve ${ref}: the harness resolves env: references only, unless it provides resolveRef`);
  return value;
}
