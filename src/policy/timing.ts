// The timing fields a class sets and a secret may override (cadence, grace, window, jitter,
// emergency grace, retry, drain, confirm timeout): parsed, layered secret > class > default,
// and checked together (grace shorter than cadence, ...), each problem at the field that caused it.
import { DURATION_EXAMPLES, formatDuration, parseDuration } from './duration.js';
import { describeSchedule, parseCadence, shortestCadenceMs } from './cadence.js';
import { DEFAULTS } from './defaults.js';
import type { RawProblem } from './issues.js';
import type { RawClass } from './schema.js';
import type { DrainPolicy, ResolvedSecret, RetryPolicy, RotationWindow, Schedule } from './types.js';
import type { PathSegment } from './yaml/source.js';
import { parseWindow } from './window.js';

/** Fields present in one layer (a class or a secret), parsed. */
export interface TimingLayer {
  /** Where this layer's fields are: ['classes', name] or ['secrets', i]. */
  path: PathSegment[];
  schedule?: Schedule;
  graceMs?: number;
  emergencyGraceMs?: number;
  jitterMs?: number;
  window?: RotationWindow;
  retry: Partial<RetryPolicy>;
  drain: Partial<DrainPolicy>;
  confirmTimeoutMs?: number;
}

/** A secret's timing fields, plus the consumers' default confirmation timeout. */
export type Timing = Pick<ResolvedSecret, 'schedule' | 'graceMs' | 'emergencyGraceMs' | 'jitterMs' | 'window' | 'retry' | 'drain'> & {
  confirmTimeoutMs: number;
};

/** Durations the schema already checked; one that failed is left out (already reported). */
function ms(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

/**
 * Parses the timing fields of one layer; returns undefined when one is invalid. `inheritedTz`
 * is the class window's tz, the default tz of a secret's own cron cadence.
 */
export function parseTimingLayer(
  raw: RawClass,
  path: PathSegment[],
  inheritedTz: string | undefined,
  out: RawProblem[],
): TimingLayer | undefined {
  const before = out.length;
  const layer: TimingLayer = {
    path,
    graceMs: ms(raw.grace),
    emergencyGraceMs: ms(raw.emergencyGrace),
    jitterMs: ms(raw.jitter),
    confirmTimeoutMs: ms(raw.confirmTimeout),
    retry: {},
    drain: {},
  };
  if (raw.window) {
    const parsed = parseWindow(raw.window);
    if ('window' in parsed) layer.window = parsed.window;
    else
      for (const p of parsed.problems)
        out.push({ path: [...path, 'window', p.sub], at: 'value', code: p.code, message: p.message, hint: p.hint });
  }
  if (raw.cadence !== undefined) {
    const parsed = parseCadence(raw.cadence, layer.window?.tz ?? inheritedTz ?? DEFAULTS.tz);
    if ('schedule' in parsed) layer.schedule = parsed.schedule;
    else
      out.push({
        path: [...path, 'cadence', ...parsed.problem.sub],
        at: 'value',
        code: parsed.problem.code,
        message: parsed.problem.message,
        hint: parsed.problem.hint,
      });
  }
  if (raw.retry) {
    if (raw.retry.attempts !== undefined) layer.retry.attempts = raw.retry.attempts;
    const backoff = ms(raw.retry.backoff);
    const maxBackoff = ms(raw.retry.maxBackoff);
    if (backoff !== undefined) layer.retry.backoffMs = backoff;
    if (maxBackoff !== undefined) layer.retry.maxBackoffMs = maxBackoff;
  }
  if (raw.drain) {
    if (raw.drain.mode !== undefined) layer.drain.mode = raw.drain.mode;
    const timeout = ms(raw.drain.timeout);
    if (timeout !== undefined) layer.drain.timeoutMs = timeout;
  }
  return out.length === before ? layer : undefined;
}

/** Whether a raw class or secret sets any timing field (most secrets set none). */
export function hasTimingFields(raw: Record<string, unknown>): boolean {
  return (
    raw.cadence !== undefined ||
    raw.grace !== undefined ||
    raw.window !== undefined ||
    raw.jitter !== undefined ||
    raw.emergencyGrace !== undefined ||
    raw.retry !== undefined ||
    raw.drain !== undefined ||
    raw.confirmTimeout !== undefined
  );
}

/**
 * The effective timing of `own` over `inherited` over the defaults. A combination is checked
 * here only when `own` set one side of it: a class's own combinations were checked with the class.
 */
export function combineTiming(own: TimingLayer, inherited: TimingLayer | undefined, out: RawProblem[]): Timing {
  const pick = <K extends 'schedule' | 'graceMs' | 'emergencyGraceMs' | 'jitterMs' | 'window' | 'confirmTimeoutMs'>(k: K) =>
    own[k] !== undefined ? { value: own[k], own: true } : { value: inherited?.[k], own: false };
  const schedule = pick('schedule');
  const grace = pick('graceMs');
  const emergency = pick('emergencyGraceMs');
  const effectiveSchedule: Schedule = schedule.value ?? { kind: 'interval', ms: DEFAULTS.cadenceMs, text: DEFAULTS.cadenceText };
  const shortest = shortestCadenceMs(effectiveSchedule);
  const graceMs = grace.value ?? Math.min(DEFAULTS.graceMs, Math.floor(shortest / 2));
  if (grace.value !== undefined && graceMs >= shortest && (grace.own || schedule.own)) {
    const cadenceText =
      effectiveSchedule.kind === 'interval'
        ? effectiveSchedule.text
        : `${formatDuration(shortest)} (the shortest gap of ${describeSchedule(effectiveSchedule)})`;
    out.push({
      path: [...own.path, grace.own ? 'grace' : 'cadence'],
      at: 'value',
      code: 'grace-exceeds-cadence',
      message: `grace ${formatDuration(graceMs)} is not shorter than the cadence ${cadenceText}: the next rotation would start before the old credential is revoked`,
      hint: `make grace shorter than ${formatDuration(shortest)}, or the cadence longer`,
    });
  }
  const emergencyGraceMs = emergency.value ?? Math.min(DEFAULTS.emergencyGraceMs, graceMs);
  if (emergency.value !== undefined && emergencyGraceMs > graceMs && (emergency.own || grace.own)) {
    out.push({
      path: [...own.path, emergency.own ? 'emergencyGrace' : 'grace'],
      at: 'value',
      code: 'invalid-value',
      message: `emergencyGrace ${formatDuration(emergencyGraceMs)} is longer than grace ${formatDuration(graceMs)}: an emergency would wait longer than a routine rotation`,
      hint: `make emergencyGrace at most ${formatDuration(graceMs)}`,
    });
  }
  const retry: RetryPolicy = { ...DEFAULTS.retry, ...inherited?.retry, ...own.retry };
  if (retry.backoffMs > retry.maxBackoffMs && (own.retry.backoffMs !== undefined || own.retry.maxBackoffMs !== undefined)) {
    out.push({
      path: [...own.path, 'retry', own.retry.backoffMs !== undefined ? 'backoff' : 'maxBackoff'],
      at: 'value',
      code: 'invalid-value',
      message: `retry backoff ${formatDuration(retry.backoffMs)} is longer than maxBackoff ${formatDuration(retry.maxBackoffMs)}`,
      hint: `write durations such as ${DURATION_EXAMPLES}, with backoff ≤ maxBackoff`,
    });
  }
  return {
    schedule: effectiveSchedule,
    graceMs,
    emergencyGraceMs,
    jitterMs: pick('jitterMs').value ?? DEFAULTS.jitterMs,
    window: pick('window').value,
    retry,
    drain: { ...DEFAULTS.drain, ...inherited?.drain, ...own.drain },
    confirmTimeoutMs: pick('confirmTimeoutMs').value ?? DEFAULTS.confirmTimeoutMs,
  };
}
