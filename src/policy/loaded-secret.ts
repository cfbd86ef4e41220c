// A resolved secret as the loader makes it. Its `hash` is computed on first read: only a sync
// needs it, and hashing 100k secrets would cost validate and plan a large share of their time.
import { createHash } from 'node:crypto';
import type { Freeze } from './freeze.js';
import type { ResolvedConsumer, ResolvedSecret, RetryPolicy, DrainPolicy, RotationWindow, Schedule, SourceLocation } from './types.js';

export class LoadedSecret implements ResolvedSecret {
  #hash: string | undefined;
  constructor(
    public id: string,
    public owner: string | undefined,
    public className: string | undefined,
    public description: string | undefined,
    public tags: string[],
    public schedule: Schedule,
    public graceMs: number,
    public emergencyGraceMs: number,
    public jitterMs: number,
    public window: RotationWindow | undefined,
    public retry: RetryPolicy,
    public drain: DrainPolicy,
    public rotator: { name: string; params: Record<string, unknown> },
    public store: { backend: string; location: string; params: Record<string, unknown> },
    public consumers: ResolvedConsumer[],
    public source: SourceLocation,
    public dependsOn?: string[],
    public freezes?: Freeze[],
  ) {}

  /** sha256 of everything but `source` (moving a secret within a file is no change), keys sorted. */
  get hash(): string {
    if (this.#hash === undefined) {
      const { source: _source, ...policy } = this;
      this.#hash = createHash('sha256').update(stableJson(policy)).digest('hex');
    }
    return this.#hash;
  }

  /** JSON (the state database stores it) carries the hash like any other field. */
  toJSON(): ResolvedSecret {
    return { ...this, hash: this.hash };
  }
}

/** JSON with object keys sorted at every level, so key order in the YAML never changes a hash. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const map = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(map).sort()) {
    if (map[key] !== undefined) parts.push(`${JSON.stringify(key)}:${stableJson(map[key])}`);
  }
  return `{${parts.join(',')}}`;
}
