// What `rotor rotate --wait` prints while a run goes: one line per step when it ends, and one live
// line for the step in flight (elapsed time, a countdown for grace and waits). On a terminal the
// live line is rewritten in place; otherwise it is printed once per change; with --json every
// change is one JSON line.
import type { RunWait } from '../../state/run-waits.js';
import { NO_COLOURS, type Palette } from './colour.js';
import { absolute, duration } from './time.js';
import { describeWait } from './wait.js';

export type ProgressMode = 'terminal' | 'plain' | 'json';

export interface ProgressStep {
  id: number;
  step: string;
  attempt: number;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
}

export interface ProgressSnapshot {
  /**
   * `waitUntil` is when the engine next looks at the run (during grace, the next sample of the old
   * credential's use, several per grace); `graceUntil` is when grace ends, set at promote.
   */
  run: { id: string; state: string; step: string; waitUntil: Date | null; graceUntil: Date | null };
  steps: readonly ProgressStep[];
  wait: RunWait | null;
  now: Date;
}

const ENDED = new Set(['succeeded', 'failed']);
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Erase the terminal line and return to its start. */
const CLEAR = '\r\u001b[2K';

export class ProgressPrinter {
  private readonly printed = new Set<number>();
  private lastKey = '';
  private live = false;
  private frame = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly mode: ProgressMode,
    private readonly palette: Palette = NO_COLOURS,
  ) {}

  /** Prints what changed since the last snapshot. */
  update(s: ProgressSnapshot): void {
    // A step waits over several passes (grace): it is timed from the first pass that began it.
    const firstStart = new Map<string, Date>();
    for (const st of s.steps) {
      const k = `${st.step}#${st.attempt}`;
      const seen = firstStart.get(k);
      if (!seen || st.startedAt < seen) firstStart.set(k, st.startedAt);
    }
    for (const st of s.steps) {
      if (!ENDED.has(st.status) || this.printed.has(st.id)) continue;
      this.printed.add(st.id);
      const began = firstStart.get(`${st.step}#${st.attempt}`) ?? st.startedAt;
      const ms = (st.finishedAt ?? s.now).getTime() - began.getTime();
      if (this.mode === 'json') {
        this.line(
          JSON.stringify({ event: 'step', runId: s.run.id, step: st.step, attempt: st.attempt, status: st.status, ms, error: st.error }),
        );
        continue;
      }
      const mark = st.status === 'succeeded' ? this.palette.green('✓') : this.palette.red('✗');
      this.line(
        `  ${mark} ${st.step.padEnd(17)} ${st.status.padEnd(9)} ${duration(ms)}${st.attempt > 1 ? ` (attempt ${st.attempt})` : ''}${st.error ? `: ${st.error}` : ''}`,
      );
    }
    if (s.run.state === 'done' || s.run.state === 'needs-attention') return;
    const current = [...s.steps].reverse().find((st) => st.step === s.run.step);
    const began = current ? firstStart.get(`${current.step}#${current.attempt}`) : undefined;
    // In grace, the end of grace: the run wakes several times before it to sample the old credential's
    // use, and once at its end, briefly running each time; all of that is one grace, one change.
    const inGrace = s.run.step === 'grace' ? s.run.graceUntil : null;
    const graceUntil = inGrace && inGrace > s.now ? inGrace : null;
    const until = graceUntil ?? s.wait?.until ?? (s.run.waitUntil && s.run.waitUntil > s.now ? s.run.waitUntil : null);
    // The step's row ended but the run has not moved on yet (two writes): nothing is running to show,
    // and "… verify-new running" after "✓ verify-new succeeded" would read as a step run twice.
    if (current && ENDED.has(current.status) && !until && !s.wait) return;
    const key = inGrace ? `grace|${inGrace.getTime()}` : `${s.run.step}|${s.run.state}|${s.wait?.kind ?? ''}|${until?.getTime() ?? ''}`;
    if (this.mode === 'json') {
      if (key !== this.lastKey) {
        this.line(
          JSON.stringify({
            event: 'progress',
            runId: s.run.id,
            step: s.run.step,
            state: s.run.state,
            since: began ?? null,
            waitUntil: until,
            graceUntil,
            wait: s.wait,
          }),
        );
      }
    } else if (this.mode === 'plain') {
      // Once per change: a countdown printed every poll is the noise this replaces.
      if (key !== this.lastKey) this.line(`  … ${this.liveText(s, began, until, false)}`);
    } else {
      const spin = SPINNER[this.frame++ % SPINNER.length]!;
      this.write(`${CLEAR}  ${this.palette.cyan(spin)} ${this.liveText(s, began, until, true)}`);
      this.live = true;
    }
    this.lastKey = key;
  }

  /** The run ended: the live line gives way to the outcome. */
  finish(run: { id: string; state: string; outcome: string | null }): void {
    if (this.mode === 'json') return;
    const word = run.state === 'done' ? this.palette.green(run.state) : this.palette.red(run.state);
    this.line(`run ${run.id}: ${word}${run.outcome ? ` (${run.outcome})` : ''}`);
  }

  private liveText(s: ProgressSnapshot, began: Date | undefined, until: Date | null, countdown: boolean): string {
    const step = s.run.step.padEnd(17);
    if (s.wait?.kind === 'stagger') return `${step} ${describeWait(s.wait, s.now)}`;
    const elapsed = began ? `${duration(s.now.getTime() - began.getTime())} elapsed` : '';
    if (until) {
      const left = countdown ? `, ${duration(until.getTime() - s.now.getTime())} left` : '';
      // The grace step names itself; any other step waiting here is paused (a yield, a retry backoff).
      const what = s.run.step === 'grace' ? 'until' : 'paused until';
      return `${step} ${what} ${absolute(until)}${left}${elapsed ? ` (${elapsed})` : ''}`;
    }
    return `${step} ${s.run.state}${countdown && elapsed ? `, ${elapsed}` : ''}`;
  }

  private line(text: string): void {
    this.write(`${this.live ? CLEAR : ''}${text}\n`);
    this.live = false;
  }
}
