// The `aws-sm:` reference reader, with the AWS SDK imported on the first reference: commands and
// workers whose policies have none never load it.
import type { Logger } from '../log.js';

export function lazyAwsRefReader(log?: Logger): (id: string) => Promise<string> {
  let reader: Promise<(id: string) => Promise<string>> | undefined;
  return async (id) => {
    reader ??= import('./secret-refs.js').then((m) => m.createAwsRefReader({ log }));
    return (await reader)(id);
  };
}
