#!/usr/bin/env node
// The rotor executable. It runs the TypeScript sources through tsx (a runtime dependency),
// so a fresh clone, the Docker image and the tests all run the same code with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
