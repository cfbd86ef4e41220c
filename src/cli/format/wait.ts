// One sentence for what a run waits for and until when, the same in status, history and rotate --wait.
import type { RunWait } from '../../state/run-waits.js';
import { absolute, relative } from './time.js';

const shortId = (id: string) => id.slice(0, 8);

/** The time of day alone when it is today (UTC), else the date too. */
function clock(at: Date, now: Date): string {
  const full = absolute(at);
  return full.slice(0, 10) === absolute(now).slice(0, 10) ? full.slice(11) : full;
}

/**
 * `waits until 12:01:40Z (in 1m 40s) for run 1a2b3c4d (db/a, running) on the same target`,
 * `grace until ...`, `paused at <step> until ...`.
 */
export function describeWait(w: RunWait, now: Date): string {
  const until = `until ${clock(w.until, now)} (${relative(w.until, now)})`;
  if (w.kind === 'stagger') {
    // The per-target stagger: one run starts per target per interval (scheduler.ts).
    const behind = w.behind ? `run ${shortId(w.behind.runId)} (${w.behind.secretId}, ${w.behind.state})` : 'an earlier run';
    return `waits ${until} for ${behind} on the same target`;
  }
  if (w.step === 'grace') return `grace ${until}`;
  if (w.step === 'rollback') {
    // Before the new credential is revoked (docs/design.md, invariant 8); each poll is a wait.
    return `rolling back: waits for the consumers to confirm the old version, looks again at ${clock(w.until, now)} (${relative(w.until, now)})`;
  }
  return `paused at ${w.step} ${until}`;
}
