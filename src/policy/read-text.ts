// Reading one policy file's text, refused before parsing when it is too large or not UTF-8 (a
// replacement character silently standing in for bad bytes would hide a corrupted file).
import { isUtf8 } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { positionOf, type PolicyLimits } from './limits.js';
import type { YamlIssue } from './yaml/source.js';

/** The text; a problem that stands for the whole file; undefined when it cannot be read. */
export type PolicyText = string | { refused: YamlIssue } | undefined;

export function readPolicyTextSync(file: string, limits: PolicyLimits): PolicyText {
  try {
    const size = statSync(file).size;
    return size > limits.maxFileBytes ? tooLarge(size, limits) : decodePolicy(readFileSync(file));
  } catch {
    return undefined;
  }
}

export async function readPolicyText(file: string, limits: PolicyLimits): Promise<PolicyText> {
  try {
    const size = (await stat(file)).size;
    return size > limits.maxFileBytes ? tooLarge(size, limits) : decodePolicy(await readFile(file));
  } catch {
    return undefined;
  }
}

function tooLarge(size: number, limits: PolicyLimits): PolicyText {
  return {
    refused: {
      code: 'limit-exceeded',
      message: `the file is ${size} bytes, larger than ${limits.maxFileBytes} bytes: not read`,
      hint: 'split it into several policy files; if it is meant to be this large, raise ROTOR_POLICY_MAX_FILE_BYTES',
      pos: { line: 1, col: 1 },
    },
  };
}

export function decodePolicy(buf: Buffer): PolicyText {
  const text = buf.toString('utf8');
  if (isUtf8(buf)) return text;
  // Earlier U+FFFD that were in the file (EF BF BD) keep the byte count right up to the first bad one.
  let at = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) {
    const b = Buffer.byteLength(text.slice(0, i));
    if (!(buf[b] === 0xef && buf[b + 1] === 0xbf && buf[b + 2] === 0xbd)) {
      at = i;
      break;
    }
  }
  return {
    refused: {
      code: 'invalid-encoding',
      message: 'the file is not valid UTF-8 here',
      hint: 'save the file as UTF-8 (policy files are UTF-8 text)',
      pos: positionOf(text, at),
    },
  };
}
