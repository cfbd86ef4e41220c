// The text of `rotor status`: one row per secret, fitted to the terminal width.
import type { RunWait } from '../../state/run-waits.js';
import type { StatusLine } from '../../state/status.js';
import { NO_COLOURS, paintStatus, type Palette } from './colour.js';
import { cut, renderTable, type Column } from './table.js';
import { both, relative } from './time.js';
import { describeWait } from './wait.js';

export interface StatusTableRow extends StatusLine {
  /** What its active run waits for, when it waits. */
  wait?: RunWait | null;
}

export interface StatusTableOptions {
  now: Date;
  /** The terminal's columns; undefined when piped (then nothing is cut). */
  width?: number;
  palette?: Palette;
}

const COLUMNS: Column[] = [
  { header: 'SECRET', shrink: true, min: 12 },
  { header: 'STATUS' },
  { header: 'LAST SUCCESS' },
  { header: 'NEXT DUE' },
];

/**
 * Lines of the table: absolute and relative times when they fit, relative only when they do not.
 * What a waiting run waits for follows its row on a line of its own, indented (scripts that split
 * rows skip lines that start with a space).
 */
export function statusTable(rows: readonly StatusTableRow[], opts: StatusTableOptions): string[] {
  const p = opts.palette ?? NO_COLOURS;
  const cells = (long: boolean) =>
    rows.map((r) => {
      const t = (d: Date | null) => (!d ? '-' : long ? both(d, opts.now) : relative(d, opts.now));
      return [r.id, r.status, t(r.lastSuccessAt), t(r.nextDueAt)];
    });
  const naturalWidth = (t: string[][]) =>
    COLUMNS.reduce((sum, c, i) => sum + Math.max(c.header.length, ...t.map((r) => r[i]!.length)), 0) + 2 * (COLUMNS.length - 1);
  let table = cells(true);
  // The times lose their absolute half before the secret id is cut.
  if (opts.width !== undefined && naturalWidth(table) > opts.width) table = cells(false);
  const [header, ...lines] = renderTable(COLUMNS, table, opts.width, (_row, col, text) => (col === 1 ? paintStatus(p, text) : text));
  const out = [header!];
  lines.forEach((line, i) => {
    out.push(line);
    const wait = rows[i]!.wait;
    if (wait) {
      const note = `  └ ${describeWait(wait, opts.now)}`;
      out.push(p.dim(opts.width === undefined ? note : cut(note, opts.width)));
    }
  });
  return out;
}
