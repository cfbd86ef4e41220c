// The `vault:` reference reader, with its module imported on the first reference: commands and
// workers whose policies have none never load it.
import type { Logger } from '../../log.js';

export function lazyVaultRefReader(log?: Logger): (id: string) => Promise<string> {
  let reader: Promise<(id: string) => Promise<string>> | undefined;
  return async (id) => {
    reader ??= import('./refs.js').then((m) => m.createVaultRefReader({ log }));
    return (await reader)(id);
  };
}
