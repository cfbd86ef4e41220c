// Every rotor command, one module each; each module exports register(program).
import type { Command } from 'commander';

type Registrar = (program: Command) => void;

const registrars: Registrar[] = [];

export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
