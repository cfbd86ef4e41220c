// A text table that fits a width: columns padded to their widest cell, and when the line is too
// wide, the columns that may shrink are cut with an ellipsis. No width (piped): nothing is cut.
import { visibleLength } from './colour.js';

export interface Column {
  header: string;
  /** Lets the column be cut to fit, never below `min` (the header's width by default). */
  shrink?: boolean;
  min?: number;
}

const GAP = '  ';

/** Cuts plain text to `width`, marking the cut. */
export function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/**
 * The lines of a table. `cells` are plain text; `paint(row, col, text)` may colour a cell after
 * it is cut and before it is padded, so escape codes never count toward a width.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number | undefined,
  paint: (row: number, col: number, text: string) => string = (_r, _c, t) => t,
): string[] {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (width !== undefined) {
    let over = widths.reduce((a, b) => a + b, 0) + GAP.length * (columns.length - 1) - width;
    // The last shrinkable column gives first: it is usually the free text at the end of the line.
    for (let i = columns.length - 1; i >= 0 && over > 0; i--) {
      const c = columns[i]!;
      if (!c.shrink) continue;
      const floor = c.min ?? c.header.length;
      const give = Math.min(over, Math.max(0, widths[i]! - floor));
      widths[i]! -= give;
      over -= give;
    }
  }
  const line = (cells: readonly string[], row: number) =>
    cells
      .map((text, col) => {
        const fitted = cut(text, widths[col]!);
        const shown = row < 0 ? fitted : paint(row, col, fitted);
        // The last column is not padded: no trailing spaces.
        return col === cells.length - 1 ? shown : shown + ' '.repeat(widths[col]! - visibleLength(shown));
      })
      .join(GAP)
      .trimEnd();
  return [
    line(
      columns.map((c) => c.header),
      -1,
    ),
    ...rows.map((r, i) => line(r, i)),
  ];
}
