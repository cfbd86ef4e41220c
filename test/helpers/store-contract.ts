// The secret-store contract as checks any backend must pass: stages, idempotency in the version
// id, refusals. What the engine relies on must not depend on where values live. Used by
// test/integration/store/contract.test.ts (local, the Secrets Manager fake) and the opt-in
// LocalStack test.
import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { NotFoundError, PermanentError } from '../../src/errors.js';
import type { SecretValue } from '../../src/rotator/contract.js';
import type { SecretStore, Stage } from '../../src/store/contract.js';

export interface StoreBackend {
  name: string;
  store(): SecretStore;
  /** A fresh location that exists in the backend and holds no version yet. */
  location(): Promise<string>;
}

/** Version ids as rotor makes them: a run id and an attempt (AWS tokens take 32 to 64 characters). */
const vid = (tag: string): string => `${randomUUID()}-${tag}`;
const cred = (tag: string): SecretValue => ({ username: 'app_a', password: `pw-${tag}-${randomUUID()}`, port: 5432 });

/** Registers the contract's checks for `backend` in the enclosing describe. */
export function storeContract(backend: StoreBackend): void {
  let store: SecretStore;
  beforeAll(() => void (store = backend.store()));

  const stagesOf = async (loc: string): Promise<Record<string, Stage[]>> =>
    Object.fromEntries((await store.describe(loc)).filter((v) => v.stages.length).map((v) => [v.versionId, v.stages]));

  /** A location whose CURRENT is `base`, as after a first rotation. */
  async function seeded(): Promise<{ loc: string; base: string; baseValue: SecretValue }> {
    const loc = await backend.location();
    const base = vid('base');
    const baseValue = cred('base');
    await store.putPending(loc, base, baseValue);
    await store.promote(loc, base);
    return { loc, base, baseValue };
  }

  it('stages, promotes, and moves PREVIOUS along over two rotations; stageless versions stay readable by id', async () => {
    const { loc, base, baseValue } = await seeded();
    const [v2, v3] = [vid('v2'), vid('v3')];
    const [c2, c3] = [cred('v2'), cred('v3')];
    expect(await stagesOf(loc)).toEqual({ [base]: ['CURRENT'] });
    await store.putPending(loc, v2, c2);
    expect(await store.get(loc, 'PENDING')).toEqual({ versionId: v2, value: c2 });
    expect(await stagesOf(loc)).toEqual({ [base]: ['CURRENT'], [v2]: ['PENDING'] });
    await store.promote(loc, v2);
    expect(await stagesOf(loc)).toEqual({ [base]: ['PREVIOUS'], [v2]: ['CURRENT'] });
    expect(await store.get(loc, 'CURRENT')).toEqual({ versionId: v2, value: c2 });
    expect(await store.get(loc, 'PREVIOUS')).toEqual({ versionId: base, value: baseValue });
    expect(await store.get(loc, 'PENDING')).toBeNull();
    await store.putPending(loc, v3, c3);
    await store.promote(loc, v3);
    expect(await stagesOf(loc)).toEqual({ [v2]: ['PREVIOUS'], [v3]: ['CURRENT'] });
    expect(await store.getVersion(loc, base)).toEqual({ versionId: base, value: baseValue });
    expect(await store.getVersion(loc, vid('never'))).toBeNull();
  });

  it('describes versions newest first with stages and creation time, never a value', async () => {
    const { loc, base } = await seeded();
    const v2 = vid('v2');
    const c2 = cred('describe');
    await new Promise((r) => setTimeout(r, 5));
    await store.putPending(loc, v2, c2);
    const info = await store.describe(loc);
    expect(info.map((v) => v.versionId)).toEqual([v2, base]);
    expect(info[0]!.createdAt).toBeInstanceOf(Date);
    expect(JSON.stringify(info)).not.toContain(String(c2.password));
    expect(await store.describe(await backend.location())).toEqual([]);
  });

  it('keeps PREVIOUS readable until clearPrevious; rolling back by promoting PREVIOUS swaps the two, and again changes nothing', async () => {
    const { loc, base } = await seeded();
    const v2 = vid('v2');
    await store.putPending(loc, v2, cred('v2'));
    await store.promote(loc, v2);
    await store.promote(loc, base);
    expect(await stagesOf(loc)).toEqual({ [base]: ['CURRENT'], [v2]: ['PREVIOUS'] });
    await store.promote(loc, base);
    expect(await stagesOf(loc)).toEqual({ [base]: ['CURRENT'], [v2]: ['PREVIOUS'] });
    await store.clearPrevious(loc);
    expect(await store.get(loc, 'PREVIOUS')).toBeNull();
    expect(await stagesOf(loc)).toEqual({ [base]: ['CURRENT'] });
  });

  it('ignores putPending again with the same version and value, in any key order, even after promote', async () => {
    const { loc } = await seeded();
    const v2 = vid('v2');
    const value = { username: 'app_b', password: `pw-${randomUUID()}` };
    await store.putPending(loc, v2, value);
    await store.putPending(loc, v2, { password: value.password, username: value.username });
    await store.promote(loc, v2);
    await store.putPending(loc, v2, value);
    expect(await store.get(loc, 'CURRENT')).toEqual({ versionId: v2, value });
    expect(await store.get(loc, 'PENDING')).toBeNull();
  });

  it('refuses putPending of a known version with another value, without quoting either value', async () => {
    const { loc } = await seeded();
    const v2 = vid('v2');
    const [a, b] = [cred('a'), cred('b')];
    await store.putPending(loc, v2, a);
    const err = await store.putPending(loc, v2, b).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err!.message).toContain(v2);
    for (const v of [a.password, b.password]) expect(`${err!.message} ${(err as PermanentError).hint}`).not.toContain(String(v));
    expect((await store.get(loc, 'PENDING'))?.value).toEqual(a);
  });

  it('makes promote, discardPending and clearPrevious no-ops when repeated', async () => {
    const { loc, base } = await seeded();
    const [v2, v3] = [vid('v2'), vid('v3')];
    await store.putPending(loc, v2, cred('v2'));
    await store.promote(loc, v2);
    await store.promote(loc, v2);
    expect(await stagesOf(loc)).toEqual({ [base]: ['PREVIOUS'], [v2]: ['CURRENT'] });
    await store.putPending(loc, v3, cred('v3'));
    await store.discardPending(loc, v3);
    await store.discardPending(loc, v3);
    await store.discardPending(loc, vid('unknown'));
    expect(await store.get(loc, 'PENDING')).toBeNull();
    await store.clearPrevious(loc);
    await store.clearPrevious(loc);
    expect(await stagesOf(loc)).toEqual({ [v2]: ['CURRENT'] });
  });

  it('refuses putPending while another version is PENDING, naming it and how to clear it', async () => {
    const { loc } = await seeded();
    const [left, next] = [vid('left'), vid('next')];
    await store.putPending(loc, left, cred('left'));
    const err = await store.putPending(loc, next, cred('next')).then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err!.message).toContain('already has a PENDING version');
    expect(err!.message).toContain(left);
    expect(err!.hint).toContain('rotor repair');
    expect((await store.get(loc, 'PENDING'))?.versionId).toBe(left);
  });

  it('refuses to promote a version that does not exist', async () => {
    const { loc } = await seeded();
    await expect(store.promote(loc, vid('ghost'))).rejects.toBeInstanceOf(NotFoundError);
  });
}
