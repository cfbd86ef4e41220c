// rotor incident start|status|abort: rotate a whole blast radius now, follow it, stop it. The
// orchestration is src/engine/incident.ts; a running rotor's workers drive the incident.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type pg from 'pg';
import {
  DEFAULT_PER_TARGET,
  EMPTY_SELECTION,
  countPhases,
  itemPhase,
  planIncident,
  selectionIsEmpty,
  startIncident,
} from '../engine/incident.js';
import { InvalidInputError, NotFoundError, RunFailedError } from '../errors.js';
import {
  getIncident,
  incidentItems,
  listIncidents,
  recentRunMs,
  requestIncidentAbort,
  type IncidentItem,
  type IncidentRow,
  type IncidentSelection,
} from '../state/incidents.js';
import { listSecrets } from '../state/secrets.js';
import { cliActor, confirmByTyping } from './confirm.js';
import { openQueue, openState, out } from './context.js';
import { planText, statusText, type StatusView } from './format/incident.js';
import { outputPalette } from './terminal.js';

interface StartOptions {
  reason?: string;
  tag: string[];
  owner: string[];
  class: string[];
  target: string[];
  consumer: string[];
  ids: string[];
  perTarget: string;
  dryRun?: boolean;
  yes?: boolean;
  watch?: boolean;
  json?: boolean;
  actor?: string;
  overrideFreeze?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  const incident = program.command('incident').description('rotate a whole blast radius now, in dependency order; follow or abort it');
  incident
    .command('start')
    .description('select secrets (any of the filters: a union), print the plan, then start one emergency run per secret')
    .option('--reason <text>', 'why: recorded on the incident, each run and the audit trail (required)')
    .option('--tag <tag>', 'secrets with this tag (repeatable)', collect, [])
    .option('--owner <owner>', 'secrets of this owner (repeatable)', collect, [])
    .option('--class <class>', 'secrets of this class (repeatable)', collect, [])
    .option('--target <key>', 'secrets on this target, as `rotor status <id>` names it (repeatable)', collect, [])
    .option('--consumer <name>', 'secrets that tell this consumer (repeatable)', collect, [])
    .option('--ids <file>', 'secret ids, one per line (# comments; repeatable)', collect, [])
    .option('--per-target <n>', 'runs in flight on one target at once', String(DEFAULT_PER_TARGET))
    .option('--override-freeze', 'start runs inside freeze windows too (each audited as run.freeze-overridden)')
    .option('--dry-run', 'print the plan only; start nothing')
    .option('--yes', 'do not ask to type the number of secrets (required without a terminal)')
    .option('--watch', 'follow the incident until it ends (exit 5 if a secret needs attention)')
    .option('--json', 'with --dry-run: the plan as JSON; with --watch: JSON lines')
    .option('--actor <name>', 'who asks (default: $USER)')
    .action(async (opts: StartOptions) => start(opts));
  incident
    .command('status [incidentId]')
    .description('progress of an incident (the newest when no id is given)')
    .option('--json', 'JSON lines (also when not on a terminal)')
    .option('--watch', 'follow it until it ends (exit 5 if a secret needs attention)')
    .action(async (id: string | undefined, opts: { json?: boolean; watch?: boolean }) => status(id, opts));
  incident
    .command('abort [incidentId]')
    .description('start no more runs (runs in flight finish or roll back; none is left half-revoked)')
    .option('--reason <text>', 'why: recorded in the audit trail')
    .option('--actor <name>', 'who asks (default: $USER)')
    .action(async (id: string | undefined, opts: { reason?: string; actor?: string }) => abort(id, opts));
}

async function readIds(files: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InvalidInputError(`cannot read --ids ${file}: ${(err as Error).message}`, {
        hint: 'give a file with one secret id per line',
      });
    }
    for (const line of text.split('\n')) {
      const id = line.replace(/#.*/, '').trim();
      if (id) ids.push(id);
    }
  }
  return ids;
}

async function start(opts: StartOptions): Promise<void> {
  const reason = opts.reason?.trim();
  if (!reason)
    throw new InvalidInputError('an incident needs a reason', {
      hint: 'rotor incident start --reason "laptop of j.doe stolen" --owner jdoe',
    });
  const perTarget = Number(opts.perTarget);
  if (!Number.isInteger(perTarget) || perTarget < 1)
    throw new InvalidInputError(`--per-target ${opts.perTarget} must be a whole number ≥ 1`);
  const selection: IncidentSelection = {
    ...EMPTY_SELECTION,
    tags: opts.tag,
    owners: opts.owner,
    classes: opts.class,
    targets: opts.target,
    consumers: opts.consumer,
    ids: await readIds(opts.ids),
  };
  if (selectionIsEmpty(selection)) {
    throw new InvalidInputError('select the blast radius', {
      hint: 'give at least one of --tag, --owner, --class, --target, --consumer, --ids',
    });
  }
  const state = await openState();
  try {
    const secrets = await listSecrets(state.pool);
    const chosen = secrets.filter((s) => s.status === 'active');
    const plan = planIncident(chosen, selection, perTarget, null);
    const withEstimate = planIncident(
      chosen,
      selection,
      perTarget,
      await recentRunMs(
        state.pool,
        plan.secrets.map((s) => s.secretId),
      ),
    );
    if (withEstimate.unknownIds.length) {
      throw new InvalidInputError(
        `${withEstimate.unknownIds.length} id(s) from --ids are no active secret: ${withEstimate.unknownIds.slice(0, 5).join(', ')}`,
        {
          hint: 'fix the list (rotor status lists every secret); nothing was started',
        },
      );
    }
    if (!withEstimate.secrets.length) throw new InvalidInputError('the selection matches no active secret: nothing to rotate');
    if (opts.dryRun && opts.json) return out(JSON.stringify(withEstimate, null, 2));
    process.stderr.write(`${planText(withEstimate, reason, opts.overrideFreeze === true)}\n\n`);
    if (opts.dryRun) {
      out('dry run: nothing was started');
      return;
    }
    if (!opts.yes) {
      await confirmByTyping(String(withEstimate.secrets.length), 'the number of secrets', {
        action: `Emergency rotation of ${withEstimate.secrets.length} secrets`,
        noTerminal: 'an incident without a terminal needs --yes',
        hint: 'add --yes to confirm in scripts (after a --dry-run)',
      });
    }
    const kit = await openQueue(state);
    try {
      const incident = await startIncident(state.pool, kit, {
        actor: cliActor(opts.actor),
        reason,
        selection,
        plan: withEstimate,
        overrideFreeze: opts.overrideFreeze === true,
      });
      out(`incident ${incident.id} started: ${withEstimate.secrets.length} secrets (follow: rotor incident status ${incident.id} --watch)`);
      if (opts.watch) await follow(state.pool, incident.id, { json: opts.json === true, watch: true });
    } finally {
      await kit.close();
    }
  } finally {
    await state.close();
  }
}

async function resolveIncident(pool: pg.Pool, id: string | undefined, running = false): Promise<IncidentRow> {
  if (id) {
    const found = /^[0-9a-f-]{36}$/i.test(id) ? await getIncident(pool, id) : null;
    if (!found) throw new NotFoundError(`no incident ${id}`, { hint: 'rotor incident status lists the newest' });
    return found;
  }
  const all = await listIncidents(pool, 50);
  const found = running ? all.find((i) => i.state === 'running') : all[0];
  if (!found)
    throw new NotFoundError(running ? 'no incident is running' : 'no incident yet', { hint: 'start one: rotor incident start --help' });
  return found;
}

function failureOf(i: IncidentItem): string | null {
  if (itemPhase(i) !== 'needs-attention') return null;
  return i.skipped ?? i.runError ?? 'the run needs attention';
}

function viewOf(incident: IncidentRow, items: IncidentItem[]): StatusView {
  return {
    id: incident.id,
    state: incident.state,
    reason: incident.reason,
    actor: incident.actor,
    startedAt: incident.startedAt,
    endedAt: incident.endedAt,
    counts: countPhases(items),
    failures: items.flatMap((i) => {
      const why = failureOf(i);
      return why ? [{ secretId: i.secretId, why }] : [];
    }),
  };
}

async function status(id: string | undefined, opts: { json?: boolean; watch?: boolean }): Promise<void> {
  const state = await openState();
  try {
    const incident = await resolveIncident(state.pool, id);
    await follow(state.pool, incident.id, { json: opts.json === true || !process.stdout.isTTY, watch: opts.watch === true });
  } finally {
    await state.close();
  }
}

/** Prints the incident's progress once, or (watch) at each change until it ends. */
async function follow(pool: pg.Pool, incidentId: string, opts: { json: boolean; watch: boolean }): Promise<void> {
  const palette = outputPalette();
  let last = '';
  let printedLines = 0;
  for (;;) {
    const incident = (await getIncident(pool, incidentId))!;
    const view = viewOf(incident, await incidentItems(pool, incidentId));
    const ended = incident.state === 'done' || incident.state === 'aborted';
    const key = JSON.stringify([view.state, view.counts, view.failures.length]);
    if (key !== last) {
      if (opts.json) {
        out(JSON.stringify({ event: ended ? 'end' : 'progress', ...view }));
      } else {
        const text = statusText(view, new Date(), palette);
        // On a terminal the block is redrawn in place.
        if (opts.watch && printedLines) process.stdout.write(`\u001b[${printedLines}A\u001b[0J`);
        out(text);
        printedLines = text.split('\n').length;
      }
      last = key;
    }
    if (!opts.watch || ended) {
      if (opts.watch && view.counts['needs-attention']) {
        throw new RunFailedError(`incident ${incidentId}: ${view.counts['needs-attention']} secret(s) need attention`, {
          hint: `see: rotor incident status ${incidentId}`,
        });
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function abort(id: string | undefined, opts: { reason?: string; actor?: string }): Promise<void> {
  const state = await openState();
  try {
    const incident = await resolveIncident(state.pool, id, true);
    if (!(await requestIncidentAbort(state.pool, incident.id, cliActor(opts.actor), opts.reason?.trim() || null))) {
      throw new InvalidInputError(`incident ${incident.id} is ${incident.state}: there is nothing to abort`);
    }
    const counts = countPhases(await incidentItems(state.pool, incident.id));
    out(
      `incident ${incident.id}: aborting. No new run starts; ${counts.rotating + counts['waiting-on-consumers']} in flight finish or roll back (follow: rotor incident status ${incident.id} --watch)`,
    );
  } finally {
    await state.close();
  }
}
