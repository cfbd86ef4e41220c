// A PENDING version that no active run owns: what an unfinished rotation leaves behind. It blocks
// every later rotation (in AWS, RotateSecret answers "a previous rotation isn't complete") until
// `rotor repair` clears it. Shown by `rotor status <id>`.
import type { SecretStore } from './contract.js';

export interface PendingInfo {
  versionId: string;
  createdAt: Date;
  /** No active run owns it: it is left over, and `rotor repair <id>` clears it. */
  dangling: boolean;
}

/** Run ids prefix the version ids they stage (`<run id>-<attempt>`). */
export async function pendingOf(store: SecretStore, location: string, activeRunId: string | null): Promise<PendingInfo | null> {
  const pending = (await store.describe(location)).find((v) => v.stages.includes('PENDING'));
  if (!pending) return null;
  const owned = activeRunId !== null && pending.versionId.startsWith(activeRunId);
  return { versionId: pending.versionId, createdAt: pending.createdAt, dangling: !owned };
}
