// `rotor plan`: per secret, when it is next due and what could go wrong (risk flags). Entries are
// compact, so a plan of 100k secrets is built while the policies stream through the loader.
import { formatDuration } from './duration.js';
import { rotatorTraits } from '../rotator/catalogue.js';
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
  | { flag: 'same-target-same-minute'; others: string[] }
  /** The policy chose a transport to the target that is not verified TLS (what it chose). */
  | { flag: 'weak-tls'; chosen: string }
  /** The next run to reach its revoke step revokes what the target had before rotor (until rotor rotated it once). */
  | { flag: 'revokes-inherited' };

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
  /** A freeze moved the due time: when it ends, the freeze as the policy says it, and its reason. */
  frozen: PlanFreeze | null;
  grace: string;
  /** Consumer names by wave, waves in order. */
  waves: Array<{ wave: number; consumers: string[] }>;
  targetKey: string;
  flags: PlanFlag[];
}

export interface PlanFreeze {
  until: Date;
  /** E.g. `3d from "0 0 L * *" Europe/Berlin`. */
  text: string;
  reason: string | null;
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
const REVOKES_INHERITED: PlanFlag = Object.freeze({ flag: 'revokes-inherited' });

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
  const own: PlanFlag[] = [];
  if (!traits.overlap) own.push(NO_OVERLAP);
  for (const c of secret.consumers) {
    if (c.cacheTtlMs !== undefined && c.cacheTtlMs > secret.graceMs) {
      own.push({ flag: 'grace-below-cache-ttl', consumer: c.name, cacheTtl: durationText(c.cacheTtlMs) });
    }
  }
  if (!secret.owner) own.push(NO_OWNER);
  if (traits.weakTransport) own.push({ flag: 'weak-tls', chosen: traits.weakTransport });
  // Only before rotor's first success, also after a failed first run (one rolled back after promote
  // keeps its credential): the revoke step asks the same column (RunContext.neverRotated, invariant 7).
  if (traits.revokesInherited && lastSuccessAt === null) own.push(REVOKES_INHERITED);
  const flags = sharedFlags(JSON.stringify(own));
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
    frozen: due.frozen && planFreeze(due.frozen.until.getTime(), due.frozen.freeze.text, due.frozen.freeze.reason ?? null),
    grace: durationText(secret.graceMs),
    waves: waves(secret),
    targetKey: ownCopy(traits.targetKey),
    flags,
  };
}

function planFreeze(until: number, text: string, reason: string | null): PlanFreeze {
  return { until: new Date(until), text: shareString(text), reason: reason === null ? null : shareString(reason) };
}

/** Why a due time is later than its cadence says: `frozen until 2026-12-31 23:00 (freeze month-end-close)`. */
export function frozenText(f: PlanFreeze): string {
  const iso = f.until.toISOString();
  return `frozen until ${iso.slice(0, 10)} ${iso.slice(11, 16)} (freeze ${f.reason ?? f.text})`;
}

// The shared waves of each consumer list met, by a key cheaper to make than the list's JSON:
// every wave number and name, length-prefixed so that no two lists share a key.
const wavesByConsumers = new Map<string, PlanEntry['waves']>();

function waves(secret: ResolvedSecret): PlanEntry['waves'] {
  let key = '';
  for (const c of secret.consumers) key += `${c.wave}:${c.name.length}:${c.name}`;
  let list = wavesByConsumers.get(key);
  if (list === undefined) {
    list = buildWaves(secret);
    if (wavesByConsumers.size > 10_000) wavesByConsumers.clear();
    wavesByConsumers.set(ownCopy(key), list);
  }
  return list;
}

function buildWaves(secret: ResolvedSecret): PlanEntry['waves'] {
  let list: PlanEntry['waves'];
  if (secret.consumers.every((c) => c.wave === 1)) {
    list = secret.consumers.length ? [{ wave: 1, consumers: secret.consumers.map((c) => c.name) }] : [];
  } else {
    const byWave = new Map<number, string[]>();
    for (const c of secret.consumers) {
      const names = byWave.get(c.wave);
      if (names) names.push(c.name);
      else byWave.set(c.wave, [c.name]);
    }
    list = [...byWave.entries()].sort((a, b) => a[0] - b[0]).map(([wave, consumers]) => ({ wave, consumers }));
  }
  return sharedWaves(JSON.stringify(list));
}

// Waves and flags repeat across thousands of secrets (the same consumer names, the same risk):
// each distinct list is one frozen value that every entry with it shares, keyed by its JSON, so
// a plan of 100k secrets holds 100k entries rather than a million small objects for the garbage
// collector to walk, a worker ships the key alone, and the table's text for a list is made once.
const sharedLists = new Map<string, object>();
const listKeys = new WeakMap<object, string>();

function sharedList<T extends object>(key: string, make: (parsed: T) => T): T {
  let list = sharedLists.get(key) as T | undefined;
  if (list === undefined) {
    list = make(JSON.parse(key) as T);
    if (sharedLists.size > 10_000) sharedLists.clear();
    sharedLists.set(key, list);
    listKeys.set(list, key);
  }
  return list;
}

function sharedWaves(key: string): PlanEntry['waves'] {
  return sharedList<PlanEntry['waves']>(
    key,
    (parsed) =>
      Object.freeze(
        parsed.map((w) => Object.freeze({ wave: w.wave, consumers: Object.freeze(w.consumers.map(shareString)) as string[] })),
      ) as PlanEntry['waves'],
  );
}

function sharedFlags(key: string): PlanFlag[] {
  return sharedList<PlanFlag[]>(
    key,
    (parsed) =>
      Object.freeze(
        parsed.map((f): PlanFlag => {
          if (f.flag === 'no-overlap') return NO_OVERLAP;
          if (f.flag === 'no-owner') return NO_OWNER;
          if (f.flag === 'revokes-inherited') return REVOKES_INHERITED;
          if (f.flag === 'weak-tls') return Object.freeze({ flag: f.flag, chosen: shareString(f.chosen) });
          if (f.flag === 'grace-below-cache-ttl')
            return Object.freeze({ flag: f.flag, consumer: shareString(f.consumer), cacheTtl: shareString(f.cacheTtl) });
          return f;
        }),
      ) as PlanFlag[],
  );
}

function keyOf(list: object): string {
  return listKeys.get(list) ?? JSON.stringify(list);
}

const listTexts = new WeakMap<object, string>();

/** The CONSUMERS cell of the table: names by wave, `-` for none. */
export function wavesText(list: PlanEntry['waves']): string {
  let text = listTexts.get(list);
  if (text === undefined) {
    text = list.length ? list.map((w) => w.consumers.join(' + ')).join(' → ') : '-';
    listTexts.set(list, text);
  }
  return text;
}

/** The FLAGS cell of the table, `-` for none. */
export function flagsText(flags: readonly PlanFlag[]): string {
  let text = listTexts.get(flags);
  if (text === undefined) {
    text = flags.length ? flags.map(describeFlag).join(' ') : '-';
    // Only shared lists are kept: a list of its own (same-target flags) is printed once.
    if (Object.isFrozen(flags)) listTexts.set(flags, text);
  }
  return text;
}

/**
 * A PlanEntry as a flat list of plain values: what crosses from a worker thread cheaply. What
 * thousands of secrets have in common (class, cadence, rotator, grace, waves, own flags) is a
 * profile, sent once as JSON and then named by its number.
 */
export type PackedEntry = [
  id: string,
  profile: number,
  nextDue: number,
  lastSuccessAt: number | null,
  overdue: boolean,
  targetKey: string,
  frozen: [until: number, text: string, reason: string | null] | null,
];

type Profile = Pick<PlanEntry, 'className' | 'cadence' | 'rotator' | 'strategy' | 'grace' | 'waves' | 'flags'>;
type PackedProfile = [
  className: string | null,
  cadence: string,
  rotator: string,
  strategy: string | null,
  grace: string,
  waves: string,
  flags: string,
];

/** A worker's side: numbers the profiles it meets; `fresh()` hands over those not sent yet. */
export class EntryPacker {
  private readonly numbers = new Map<string, number>();
  private pending: string[] = [];

  pack(e: PlanEntry): PackedEntry {
    const profile: PackedProfile = [e.className ?? null, e.cadence, e.rotator, e.strategy ?? null, e.grace, keyOf(e.waves), keyOf(e.flags)];
    const json = JSON.stringify(profile);
    let n = this.numbers.get(json);
    if (n === undefined) {
      n = this.numbers.size;
      this.numbers.set(json, n);
      this.pending.push(json);
    }
    const frozen: PackedEntry[6] = e.frozen && [e.frozen.until.getTime(), e.frozen.text, e.frozen.reason];
    return [e.id, n, e.nextDue.getTime(), e.lastSuccessAt?.getTime() ?? null, e.overdue, e.targetKey, frozen];
  }

  /** Profiles numbered since the last call, in number order. */
  fresh(): string[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

/** The main thread's side: the worker's profiles by number, their strings and lists shared. */
export class EntryUnpacker {
  private readonly profiles: Profile[] = [];

  add(fresh: readonly string[]): void {
    for (const json of fresh) {
      const p = JSON.parse(json) as PackedProfile;
      this.profiles.push({
        className: p[0] === null ? undefined : shareString(p[0]),
        cadence: shareString(p[1]),
        rotator: shareString(p[2]),
        strategy: p[3] === null ? undefined : shareString(p[3]),
        grace: shareString(p[4]),
        waves: sharedWaves(p[5]),
        flags: sharedFlags(p[6]),
      });
    }
  }

  /** The entry again, in planEntry's key order. */
  unpack(p: PackedEntry): PlanEntry {
    const profile = this.profiles[p[1]];
    if (!profile) throw new Error(`plan entry of ${p[0]} names profile ${p[1]}, which was never sent`);
    return {
      id: p[0],
      className: profile.className,
      cadence: profile.cadence,
      rotator: profile.rotator,
      strategy: profile.strategy,
      nextDue: new Date(p[2]),
      lastSuccessAt: p[3] === null ? null : new Date(p[3]),
      overdue: p[4],
      frozen: p[6] && planFreeze(...p[6]),
      grace: profile.grace,
      waves: profile.waves,
      targetKey: p[5],
      flags: profile.flags,
    };
  }
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
    // A list of its own: the entry's own flags are a shared, frozen list.
    e.flags = [...e.flags, { flag: 'same-target-same-minute', others }];
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
    case 'weak-tls':
      return `weak-tls(${f.chosen})`;
    default:
      return f.flag;
  }
}
