// What the CLI knows of where its output goes: the width to fit (none when piped) and the colours.
import { paletteFor, type Palette } from './format/colour.js';

/** The terminal's columns; undefined when stdout is not a terminal, so piped output is never cut. */
export function outputWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number | undefined {
  return stream.isTTY && stream.columns ? stream.columns : undefined;
}

export function outputPalette(): Palette {
  return paletteFor(process.stdout);
}
