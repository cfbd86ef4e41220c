// Reading a secret value a person hands to rotor on stdin (`rotor attest --value-stdin`): never from
// argv (other users see it in ps, shells keep it in history), never from a terminal (it would be
// echoed on the screen), bounded in size, UTF-8. Errors say what was wrong, never the text.
import { InvalidInputError } from '../errors.js';

/** Larger than any key a portal issues, and within what every store takes (AWS: 64 KiB). */
export const MAX_STDIN_VALUE_BYTES = 65_536;

export async function readSecretStdin(usage: string, stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) {
    throw new InvalidInputError(
      '--value-stdin reads the value from a pipe or a file, not from a terminal (it would be echoed); nothing was changed',
      {
        hint: `e.g. ${usage} < new-key.txt`,
      },
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_STDIN_VALUE_BYTES) {
      stdin.destroy();
      throw new InvalidInputError(`stdin holds more than ${MAX_STDIN_VALUE_BYTES} bytes: that is no key; nothing was changed`, {
        hint: `give the new value alone, e.g. ${usage} < new-key.txt`,
      });
    }
    chunks.push(buf);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new InvalidInputError('stdin is not UTF-8 text; nothing was changed', {
      hint: 'a binary key must be given as text (base64 or hex), as the portal shows it',
    });
  }
}
