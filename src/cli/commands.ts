// Every rotor command, one module each; each module exports register(program).
import type { Command } from 'commander';
import { register as dashboard } from './dashboard.js';
import { register as conformance } from './conformance.js';
import { register as migrate } from './migrate.js';
import { register as plan } from './plan.js';
import { register as prune } from './prune.js';
import { register as rekey } from './rekey.js';
import { register as repair } from './repair.js';
import { register as rotate } from './rotate.js';
import { register as secret } from './secret.js';
import { register as serve } from './serve.js';
import { register as status } from './status.js';
import { register as validate } from './validate.js';

type Registrar = (program: Command) => void;

const registrars: Registrar[] = [validate, plan, serve, dashboard, migrate, rotate, status, secret, repair, rekey, prune, conformance];

export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
