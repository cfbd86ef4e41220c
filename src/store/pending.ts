// A PENDING version that no active run owns: what an unfinished rotation leaves behind. It blocks
// every later rotation (in AWS, RotateSecret answers "a previous rotation isn't complete") until
// `rotor repair` clears it. Shown by `rotor status <id>`.
import type { SecretStore, VersionInfo } from './contract.js';

export interface PendingInfo {
  versionId: string;
  createdAt: Date;
  /** No active run owns it: it is left over, and `rotor repair <id>` clears it. */
  dangling: boolean;
}

/** The PENDING version among `versions` (from store.describe), and whether an active run owns it. */
export function pendingIn(versions: readonly VersionInfo[], activeRunId: string | null): PendingInfo | null {
  const pending = versions.find((v) => v.stages.includes('PENDING'));
  if (!pending) return null;
  // Run ids prefix the version ids they stage (`<run id>-<attempt>`).
  const owned = activeRunId !== null && pending.versionId.startsWith(activeRunId);
  return { versionId: pending.versionId, createdAt: pending.createdAt, dangling: !owned };
}

export async function pendingOf(store: SecretStore, location: string, activeRunId: string | null): Promise<PendingInfo | null> {
  return pendingIn(await store.describe(location), activeRunId);
}
