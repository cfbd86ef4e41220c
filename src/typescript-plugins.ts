// TypeScript plug-ins (a rotator file, a conformance harness) under compiled rotor: tsx's loader is
// registered in the importing thread the first time one is imported, so rotor's own start and
// every policy tree without a TypeScript plug-in pay nothing for it.

const TYPESCRIPT = /\.[cm]?tsx?$/;
let registered: Promise<void> | undefined;

/** Makes `path` importable: registers tsx first when it is TypeScript (once per thread). */
export function readyToImport(path: string): Promise<void> {
  return TYPESCRIPT.test(path) ? readyForTypeScript() : Promise.resolve();
}

/** Registers tsx in this thread, once. */
export function readyForTypeScript(): Promise<void> {
  // Run as TypeScript (vitest, tsx), rotor is already inside something that loads TypeScript.
  if (import.meta.url.endsWith('.ts')) return Promise.resolve();
  registered ??= import('tsx/esm/api').then(({ register }) => {
    register();
  });
  return registered;
}
