// Reading the file a `file:` reference names: regular files only (a FIFO would block a thread
// forever, /dev/zero would fill memory), at most ROTOR_REF_FILE_MAX_BYTES, and only inside the
// roots ROTOR_REF_FILE_ROOTS allows (never rotor's own master key).
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { InvalidInputError } from '../errors.js';
import { refFileAllowed } from '../trust-roots.js';
import { policyLimits } from './limits.js';

export interface ReadRefFileOptions {
  /** The directory of the policy file holding the reference: one of the default roots. */
  policyDir: string;
  maxBytes?: number;
}

export async function readRefFile(path: string, opts: ReadRefFileOptions): Promise<string> {
  const maxBytes = opts.maxBytes ?? policyLimits().refFileMaxBytes;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new InvalidInputError(`${path} is not a regular file`, {
        hint: 'a file: reference must name a regular file (not a FIFO, device or directory)',
      });
    }
    // After the type check (a device is refused as such) and on the real path: a symlink in the
    // policy directory cannot lead to the master key.
    const allowed = refFileAllowed(path, opts.policyDir);
    if (!allowed.ok) throw new InvalidInputError(allowed.message, { hint: allowed.hint });
    if (info.size > maxBytes) {
      throw new InvalidInputError(`${path} is ${info.size} bytes, more than ${maxBytes}`, {
        hint: 'point the reference at the credential file itself, or raise ROTOR_REF_FILE_MAX_BYTES',
      });
    }
    // Read no more than the cap even if the file grew since the stat.
    const buf = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) {
      throw new InvalidInputError(`${path} is more than ${maxBytes} bytes`, {
        hint: 'point the reference at the credential file itself, or raise ROTOR_REF_FILE_MAX_BYTES',
      });
    }
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
