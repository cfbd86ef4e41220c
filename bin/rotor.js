#!/usr/bin/env node
// The rotor executable: runs the JavaScript that tsc compiled into dist/ (npm ci builds it, as the
// `prepare` script). In a checkout, where src/ sits next to dist/, a dist/ older than any source
// file is rebuilt first, so an edited source never runs stale; an installed package or the Docker
// image has no src/ and pays nothing for the check.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const MAIN = new URL('../dist/src/cli/main.js', import.meta.url);

if (existsSync(new URL('../src/', import.meta.url)) && existsSync(new URL('../scripts/build.mjs', import.meta.url))) {
  const { build, distIsStale } = await import('../scripts/build.mjs');
  if (distIsStale()) {
    const code = build({ onlyIfStale: true });
    if (code !== 0) process.exit(code);
  }
} else if (!existsSync(MAIN)) {
  process.stderr.write('rotor: dist/ is missing: this copy of rotor was installed without its build (npm ci builds it)\n');
  process.exit(1);
}
await import(MAIN.href);
