// Colour for CLI output: only on a terminal, never with NO_COLOR set or under CI, and the one
// place that says which colour each status word gets.
import type { SecretStatus } from '../../state/status.js';

export type Paint = (text: string) => string;

export interface Palette {
  red: Paint;
  yellow: Paint;
  green: Paint;
  cyan: Paint;
  dim: Paint;
  bold: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (t) =>
    `\u001b[${open}m${t}\u001b[${close}m`;
const plain: Paint = (t) => t;

export const COLOURS: Palette = {
  red: sgr(31, 39),
  yellow: sgr(33, 39),
  green: sgr(32, 39),
  cyan: sgr(36, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
};
export const NO_COLOURS: Palette = { red: plain, yellow: plain, green: plain, cyan: plain, dim: plain, bold: plain };

/**
 * Whether to colour a stream: a terminal, and neither NO_COLOR (https://no-color.org: any non-empty
 * value) nor CI set (CI logs keep escape codes as noise). FORCE_COLOR=1 forces it, for screenshots.
 */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR) return false;
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return false;
  return stream.isTTY === true;
}

export function paletteFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  return wantsColour(stream, env) ? COLOURS : NO_COLOURS;
}

/** A status word in the colour that tells how urgent it is. */
export function paintStatus(p: Palette, status: SecretStatus | string): string {
  switch (status) {
    case 'needs-attention':
      return p.red(status);
    case 'overdue':
      return p.red(status);
    case 'due-soon':
      return p.yellow(status);
    case 'rotating':
      return p.cyan(status);
    case 'healthy':
      return p.green(status);
    default:
      return p.dim(status);
  }
}

/** The width a string takes on screen: its length without escape codes. */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}
