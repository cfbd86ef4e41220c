// rotor audit verify, rotor audit export: the audit chain recomputed, and the trail streamed for a SIEM.
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { auditRowsSince, verifyAuditChain, type ChainedAuditRow } from '../state/audit.js';
import { openState, out } from './context.js';
import { EXIT } from './exit-codes.js';
import { quietOnClosedStdout } from './stdout.js';

const FORMATS = ['jsonl', 'csv'] as const;
const CSV_COLUMNS = ['id', 'at', 'actor', 'action', 'secret_id', 'run_id', 'reason', 'detail', 'prev_hash', 'hash'] as const;

/** Adds `verify` and `export` under `rotor audit` (whose --since and --json they share). */
export function registerAuditChain(audit: Command): void {
  audit
    .command('verify')
    .description('recompute the audit hash chain and name the first row that does not match (exit 7 when one does not)')
    .option('--json', 'machine-readable output')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean }>();
      const state = await openState();
      try {
        const verdict = await verifyAuditChain(state.pool);
        if (opts.json) out(JSON.stringify(verdict));
        else if (verdict.broken) out(`audit chain broken after ${verdict.rows} intact rows: ${verdict.broken.problem}`);
        else out(`audit chain intact: ${verdict.rows} rows${verdict.lastId === null ? '' : `, the last ${verdict.lastId}`}, head matches`);
        if (verdict.broken) process.exitCode = EXIT.CHECK_FAILED;
      } finally {
        await state.close();
      }
    });

  audit
    .command('export')
    .description("stream the audit trail, oldest first, with each row's hash and the previous row's, as JSON lines or CSV")
    .option('--since <time>', 'rows at or after this ISO time, e.g. 2026-11-01T00:00:00Z (default: all)')
    .option('--format <format>', `${FORMATS.join(' or ')}`, 'jsonl')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ since?: string; format: string }>();
      const since = parseSince(opts.since);
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        throw new InvalidInputError(`--format ${opts.format} is not one of ${FORMATS.join(', ')}`, {
          hint: 'use --format jsonl or --format csv',
        });
      }
      const state = await openState();
      try {
        if (opts.format === 'csv') await write(CSV_COLUMNS.join(',') + '\n');
        for await (const rows of auditRowsSince(state.pool, since)) {
          await write(rows.map(opts.format === 'csv' ? csvLine : jsonLine).join(''));
        }
      } finally {
        await state.close();
      }
    });
}

export function parseSince(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const since = new Date(text);
  if (Number.isNaN(since.getTime())) {
    throw new InvalidInputError(`--since ${text} is not a time`, { hint: 'use ISO 8601, e.g. 2026-11-01T00:00:00Z' });
  }
  return since;
}

function jsonLine(r: ChainedAuditRow): string {
  return JSON.stringify(r) + '\n';
}

function csvLine(r: ChainedAuditRow): string {
  const cells = [
    r.id,
    r.at.toISOString(),
    r.actor,
    r.action,
    r.secretId,
    r.runId,
    r.reason,
    r.detail && JSON.stringify(r.detail),
    r.prevHash,
    r.hash,
  ];
  return cells.map(csvCell).join(',') + '\n';
}

/** RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled; null is empty. */
function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes a batch and waits while stdout's buffer is full: a slow reader holds one batch, not the trail. */
function write(chunk: string): Promise<void> {
  quietOnClosedStdout();
  if (process.stdout.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}
