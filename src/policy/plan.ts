// `rotor plan`: per secret, when it is next due and what could go wrong (risk flags). Entries are
// compact, so a plan of 100k secrets is built while the policies stream through the loader.
import { formatDuration } from './duration.js';
import { rotatorTraits } from '../rotator/registry.js';
import { dueDetails } from './schedule.js';
import { ownCopy, shareString } from './strings.js';
import type { ResolvedSecret } from './types.js';

export type PlanFlag =
  /** Single-credential strategy: consumers see failures between apply and their reload. */
  | { flag: 'no-overlap' }
  /** A consumer may keep a cached value longer than the grace window keeps it working. */
  | { flag: 'grace-below-cache-ttl'; consumer: string; cacheTtl: string }
  | { flag: 'no-owner' }
  /** Several secrets on one target due in the same minute (paired credentials rotated together). */
  | { flag: 'same-target-same-minute'; others: string[] };

export interface PlanEntry {
  id: string;
  className: string | undefined;
  cadence: string;
  rotator: string;
  strategy: string | undefined;
  nextDue: Date;
  lastSuccessAt: Date | null;
  /** The cadence's time had passed: due now (or at the next window opening). */
  overdue: boolean;
  grace: string;
  /** Consumer names by wave, waves in order. */
  waves: Array<{ wave: number; consumers: string[] }>;
  targetKey: string;
  flags: PlanFlag[];
}

/** When each secret last rotated successfully; the state database provides it. */
export type LastSuccessLookup = (ids: readonly string[]) => Promise<Map<string, { lastSuccessAt: Date | null }>>;

// Secrets of one class share their schedule object: its text is made once.
const cadenceTexts = new WeakMap<object, string>();

export function cadenceText(secret: Pick<ResolvedSecret, 'schedule'>): string {
  const s = secret.schedule;
  let text = cadenceTexts.get(s);
  if (text === undefined) {
    text = s.kind === 'interval' ? s.text : `cron "${s.expression}" ${s.tz}`;
    cadenceTexts.set(s, text);
  }
  return text;
}

// Flags without details are the same object in every entry that has them (nothing changes one).
const NO_OVERLAP: PlanFlag = Object.freeze({ flag: 'no-overlap' });
const NO_OWNER: PlanFlag = Object.freeze({ flag: 'no-owner' });

const durationTexts = new Map<number, string>();

/** formatDuration, one shared string per duration (a plan has few distinct ones). */
function durationText(ms: number): string {
  let text = durationTexts.get(ms);
  if (text === undefined) {
    text = formatDuration(ms);
    if (durationTexts.size > 10_000) durationTexts.clear();
    durationTexts.set(ms, text);
  }
  return text;
}

/**
 * Everything about one secret except flags that compare secrets with each other. A plan keeps
 * 100k of these: strings are its own copies (not views into policy files) and shared where they
 * repeat.
 */
export function planEntry(secret: ResolvedSecret, now: Date, lastSuccessAt: Date | null): PlanEntry {
  const traits = rotatorTraits(secret);
  const due = dueDetails({ secret, lastSuccessAt, now });
  const flags: PlanFlag[] = [];
  if (!traits.overlap) flags.push(NO_OVERLAP);
  for (const c of secret.consumers) {
    if (c.cacheTtlMs !== undefined && c.cacheTtlMs > secret.graceMs) {
      flags.push({ flag: 'grace-below-cache-ttl', consumer: shareString(c.name), cacheTtl: durationText(c.cacheTtlMs) });
    }
  }
  if (!secret.owner) flags.push(NO_OWNER);
  const strategy = secret.rotator.params.strategy;
  return {
    id: ownCopy(secret.id),
    className: secret.className === undefined ? undefined : shareString(secret.className),
    cadence: cadenceText(secret),
    rotator: shareString(secret.rotator.name),
    strategy: typeof strategy === 'string' ? shareString(strategy) : undefined,
    nextDue: due.due,
    lastSuccessAt,
    overdue: due.overdue,
    grace: durationText(secret.graceMs),
    waves: waves(secret),
    targetKey: ownCopy(traits.targetKey),
    flags,
  };
}

function waves(secret: ResolvedSecret): PlanEntry['waves'] {
  if (secret.consumers.every((c) => c.wave === 1)) {
    return secret.consumers.length ? [{ wave: 1, consumers: secret.consumers.map((c) => shareString(c.name)) }] : [];
  }
  const byWave = new Map<number, string[]>();
  for (const c of secret.consumers) {
    const list = byWave.get(c.wave);
    if (list) list.push(shareString(c.name));
    else byWave.set(c.wave, [shareString(c.name)]);
  }
  return [...byWave.entries()].sort((a, b) => a[0] - b[0]).map(([wave, consumers]) => ({ wave, consumers }));
}

/** A PlanEntry as a flat list of plain values: what crosses from a worker thread cheaply. */
export type PackedEntry = [
  id: string,
  className: string | null,
  cadence: string,
  rotator: string,
  strategy: string | null,
  nextDue: number,
  lastSuccessAt: number | null,
  overdue: boolean,
  grace: string,
  waves: PlanEntry['waves'],
  targetKey: string,
  flags: PlanFlag[],
];

export function packEntry(e: PlanEntry): PackedEntry {
  return [e.id, e.className ?? null, e.cadence, e.rotator, e.strategy ?? null, e.nextDue.getTime(), e.lastSuccessAt?.getTime() ?? null, e.overdue, e.grace, e.waves, e.targetKey, e.flags];
}

/** The entry again, its repeating strings and flags shared as planEntry shares them. */
export function unpackEntry(p: PackedEntry): PlanEntry {
  for (const w of p[9]) for (let i = 0; i < w.consumers.length; i++) w.consumers[i] = shareString(w.consumers[i] as string);
  const flags = p[11];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i] as PlanFlag;
    if (f.flag === 'no-overlap') flags[i] = NO_OVERLAP;
    else if (f.flag === 'no-owner') flags[i] = NO_OWNER;
    else if (f.flag === 'grace-below-cache-ttl') flags[i] = { flag: f.flag, consumer: shareString(f.consumer), cacheTtl: shareString(f.cacheTtl) };
  }
  return {
    id: p[0],
    className: p[1] === null ? undefined : shareString(p[1]),
    cadence: shareString(p[2]),
    rotator: shareString(p[3]),
    strategy: p[4] === null ? undefined : shareString(p[4]),
    nextDue: new Date(p[5]),
    lastSuccessAt: p[6] === null ? null : new Date(p[6]),
    overdue: p[7],
    grace: shareString(p[8]),
    waves: p[9],
    targetKey: p[10],
    flags,
  };
}

/** At most this many other ids are named in one flag; the rest are counted. */
const MAX_NAMED = 3;

/** Flags secrets that share a target and are due in the same minute, naming the others. */
export function flagSameTargetSameMinute(entries: readonly PlanEntry[]): void {
  // Most targets have one secret: keep the entry itself, and a list only for shared targets.
  const byTarget = new Map<string, PlanEntry | PlanEntry[]>();
  for (const e of entries) {
    const seen = byTarget.get(e.targetKey);
    if (seen === undefined) byTarget.set(e.targetKey, e);
    else if (Array.isArray(seen)) seen.push(e);
    else byTarget.set(e.targetKey, [seen, e]);
  }
  for (const shared of byTarget.values()) {
    if (!Array.isArray(shared)) continue;
    const byMinute = new Map<number, PlanEntry[]>();
    for (const e of shared) {
      const minute = Math.floor(e.nextDue.getTime() / 60_000);
      const group = byMinute.get(minute);
      if (group) group.push(e);
      else byMinute.set(minute, [e]);
    }
    for (const group of byMinute.values()) if (group.length > 1) flagGroup(group);
  }
}

function flagGroup(group: readonly PlanEntry[]): void {
  for (const e of group) {
    const others: string[] = [];
    for (const o of group) {
      if (o === e) continue;
      if (others.length === MAX_NAMED) {
        others.push(`${group.length - 1 - MAX_NAMED} more`);
        break;
      }
      others.push(o.id);
    }
    e.flags.push({ flag: 'same-target-same-minute', others });
  }
}

/** Looks up last successes in batches, so a state database is asked a few large questions. */
export async function lastSuccesses(ids: readonly string[], lookup: LastSuccessLookup | undefined): Promise<Map<string, Date | null>> {
  const result = new Map<string, Date | null>();
  if (!lookup) return result;
  for (let i = 0; i < ids.length; i += 10_000) {
    const batch = await lookup(ids.slice(i, i + 10_000));
    for (const [id, v] of batch) result.set(id, v.lastSuccessAt);
  }
  return result;
}

export function describeFlag(f: PlanFlag): string {
  switch (f.flag) {
    case 'grace-below-cache-ttl':
      return `grace-below-cache-ttl(${f.consumer} caches ${f.cacheTtl})`;
    case 'same-target-same-minute':
      return `same-target-same-minute(${f.others.join(', ')})`;
    default:
      return f.flag;
  }
}
