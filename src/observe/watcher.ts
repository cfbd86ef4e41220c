// Follows the audit trail (new rows by id) and the set of overdue secrets, and turns what it sees
// into alerts and run traces. Nothing in the engine has to know: every fact is already recorded.
// Every rotor process (start, worker, dashboard) runs one; a PostgreSQL advisory lock elects the
// one that sends, so each alert goes out once; another takes over within a poll if that process
// goes away. Where the sender got to is kept in `alert_state`: a process that starts again, or
// takes over, resumes there, so what happened while none was watching is still said, once.
import type pg from 'pg';
import type { Logger } from '../log.js';
import {
  auditRowsAfter,
  latestAuditId,
  readAlertCursor,
  releaseAlertLead,
  saveAlertCursor,
  tryLeadAlerts,
  type WatchedAuditRow,
} from '../state/alert-state.js';
import type { Alert, AlertSink } from './alerts.js';
import { manualDue, overdueIds, type StatusRules } from '../state/status.js';
import type { RunTracer } from './tracing.js';

/** Audit ids are taken before commit: a row may appear below the cursor. Look back this many ids. */
const LOOKBACK = 1000;
/** The row of `alert_state` this watcher keeps. */
const STATE = 'alerts';

export interface WatcherOptions {
  pool: pg.Pool;
  log: Logger;
  everyMs: number;
  rules(): StatusRules;
  alerts?: AlertSink | undefined;
  tracer?: RunTracer | undefined;
}

export interface Watcher {
  /** Runs one pass now (tests); false when this process is not the elected sender. */
  poll(): Promise<boolean>;
  close(): Promise<void>;
}

export function alertFor(row: WatchedAuditRow): Alert | null {
  if (row.action.startsWith('incident.')) return incidentAlert(row);
  if (!row.secret_id) return null;
  if (row.action === 'run.needs-attention')
    return { kind: 'needs-attention', secretId: row.secret_id, runId: row.run_id, reason: row.reason };
  // An incident's runs are announced by the incident's own alert; each that needs attention still alerts.
  if (row.action === 'run.requested' && row.detail?.trigger === 'emergency' && !row.detail.incidentId) {
    return { kind: 'emergency', secretId: row.secret_id, runId: row.run_id, actor: row.actor, reason: row.reason };
  }
  return null;
}

/** At an incident's start, an abort asked for, and its end (with how many secrets need attention). */
function incidentAlert(row: WatchedAuditRow): Alert | null {
  const d = row.detail ?? {};
  const base = { kind: 'incident' as const, secretId: '', incidentId: String(d.incidentId ?? '') };
  if (row.action === 'incident.started')
    return { ...base, summary: `started: ${String(d.secrets)} secrets`, actor: row.actor, reason: row.reason };
  if (row.action === 'incident.aborted') return { ...base, summary: 'abort asked for', actor: row.actor, reason: row.reason };
  if (row.action === 'incident.ended') {
    return {
      ...base,
      summary: `${String(d.state)}: ${String(d.done)} rotated, ${String(d['needs-attention'])} need attention, ${String(d['not-started'])} not started`,
    };
  }
  return null;
}

export function startWatcher(opts: WatcherOptions): Watcher {
  let leader: pg.PoolClient | undefined;
  let cursor = 0;
  /** Everything up to here was there before this process was elected: not news. */
  let base = 0;
  const handled = new Set<number>();
  let overdue = new Set<string>();
  let due = new Set<string>();
  let running: Promise<boolean> | undefined;
  let closed = false;

  async function elect(): Promise<boolean> {
    if (leader) return true;
    const client = await opts.pool.connect();
    try {
      if (!(await tryLeadAlerts(client))) {
        client.release();
        return false;
      }
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    // The lock lives as long as this session: if the connection drops, give it up and elect again.
    client.on('error', () => {
      if (leader === client) leader = undefined;
      client.release(true);
    });
    leader = client;
    handled.clear();
    const saved = await readAlertCursor(opts.pool, STATE);
    if (saved) {
      // Resume where the last sender stopped: alerts raised since then go out now.
      cursor = saved.cursor;
      overdue = new Set(saved.overdue);
      due = new Set(saved.due);
      lastSaved = stateKey();
    } else {
      // The first sender ever starts from now: the history before rotor had alerts is not news.
      cursor = await latestAuditId(opts.pool);
      overdue = new Set(await overdueIds(opts.pool, opts.rules()));
      due = new Set((await manualDue(opts.pool, opts.rules())).map((m) => m.id));
      await save();
    }
    base = cursor;
    return true;
  }

  /** What alert_state holds as far as this sender knows: most passes change nothing, and then write nothing. */
  let lastSaved = '';
  const stateKey = () => JSON.stringify([cursor, [...overdue].sort(), [...due].sort()]);
  async function save(): Promise<void> {
    const state = stateKey();
    if (state === lastSaved) return;
    await saveAlertCursor(opts.pool, STATE, { cursor, overdue: [...overdue], due: [...due] });
    lastSaved = state;
  }

  async function pass(): Promise<boolean> {
    if (closed || !(await elect())) return false;
    const rows = (await auditRowsAfter(opts.pool, Math.max(base, cursor - LOOKBACK), 2000)).filter((r) => !handled.has(r.id));
    const alerts: Alert[] = [];
    for (const row of rows) {
      handled.add(row.id);
      cursor = Math.max(cursor, row.id);
      const alert = alertFor(row);
      if (alert) alerts.push(alert);
      if (opts.tracer && row.run_id && (row.action === 'run.done' || row.action === 'run.needs-attention')) {
        await opts.tracer
          .exportRun(opts.pool, row.run_id)
          .catch((err: unknown) => opts.log.warn({ runId: row.run_id, err: (err as Error).message }, 'run trace export failed'));
      }
    }
    for (const id of handled) if (id <= cursor - LOOKBACK) handled.delete(id);
    const now = await overdueIds(opts.pool, opts.rules());
    for (const id of now) if (!overdue.has(id)) alerts.push({ kind: 'overdue', secretId: id });
    overdue = new Set(now);
    // Manual secrets: rotor cannot rotate them, so their owner hears when one falls due (once).
    const dueNow = await manualDue(opts.pool, opts.rules());
    for (const m of dueNow) {
      if (!due.has(m.id)) {
        alerts.push({
          kind: 'manual-due',
          secretId: m.id,
          reason: `${m.owner ? `owner ${m.owner}: ` : ''}rotate it by hand, then rotor attest ${m.id}`,
        });
      }
    }
    due = new Set(dueNow.map((m) => m.id));
    if (alerts.length && opts.alerts) await opts.alerts.send(alerts);
    // After sending: a sender that dies in between sends these again (at least once, not never).
    await save();
    return true;
  }

  function poll(): Promise<boolean> {
    running ??= pass()
      .catch((err: unknown) => {
        opts.log.warn({ err: (err as Error).message }, 'alert watcher pass failed');
        return false;
      })
      .finally(() => (running = undefined));
    return running;
  }

  const timer = setInterval(() => void poll(), opts.everyMs);
  timer.unref();
  return {
    poll,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      if (leader) {
        await releaseAlertLead(leader).catch(() => undefined);
        leader.release();
        leader = undefined;
      }
    },
  };
}
