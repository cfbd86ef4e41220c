// Writing a command's result to stdout when the reader may stop reading (`rotor audit | head -1`).

let watching = false;

/**
 * When the reader of stdout goes away, the rest of the output has nowhere to go and that is not an
 * error: exits 0 quietly on EPIPE instead of dying with an unhandled 'error' event (exit 1).
 */
export function quietOnClosedStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
