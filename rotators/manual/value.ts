// The new value of a manual secret as a person hands it to `rotor attest --value-stdin`, read into
// the layout of its store: one field (`value`, or the one `target.fields` names) from plain text,
// several from one JSON object with exactly those keys. Errors name fields, never a value.
import { InvalidInputError } from '../../src/errors.js';
import type { SecretValue } from '../../src/rotator/contract.js';
import type { ManualParams } from './schema.js';

/** The field of a manual secret's value when its policy names none, as random-secret's `{"value": …}`. */
export const DEFAULT_FIELD = 'value';

export function manualFields(params: ManualParams): string[] {
  return params.target.fields ?? [DEFAULT_FIELD];
}

/** Reads `text` (what came on stdin) into the secret's value; InvalidInputError when it does not fit. */
export function parseManualValue(params: ManualParams, text: string, secretId: string): SecretValue {
  const fields = manualFields(params);
  const unchanged = 'nothing was changed';
  if (fields.length === 1) {
    // The newline an echo, a heredoc or a text file ends with is not part of the key.
    const value = text.replace(/\r?\n$/, '');
    if (!value.trim()) {
      throw new InvalidInputError(`stdin is empty: the new value of ${secretId} was expected there; ${unchanged}`, {
        hint: `pipe it in, e.g. rotor attest ${secretId} --reason TEXT --value-stdin < new-key.txt`,
      });
    }
    if (value.includes('\0'))
      throw new InvalidInputError(`the value on stdin holds a NUL character; ${unchanged}`, { hint: 'give the key as text' });
    return { [fields[0]!]: value };
  }
  const shape = `{${fields.map((f) => `"${f}": "…"`).join(', ')}}`;
  const hint = `give one JSON object with exactly these keys, e.g. rotor attest ${secretId} --reason TEXT --value-stdin < new-key.json`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input: it is not repeated.
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const what = text.trim() ? 'is not a JSON object' : 'is empty';
    throw new InvalidInputError(
      `stdin ${what}: ${secretId} declares the fields ${fields.join(', ')} (target.fields), so its new value is read as ${shape}; ${unchanged}`,
      { hint },
    );
  }
  const given = parsed as Record<string, unknown>;
  const missing = fields.filter((f) => !Object.hasOwn(given, f));
  const extra = Object.keys(given).filter((k) => !fields.includes(k));
  if (missing.length || extra.length) {
    const problems = [
      ...(missing.length ? [`lacks ${missing.join(', ')}`] : []),
      ...(extra.length ? [`has ${extra.length === 1 ? 'a key' : `${extra.length} keys`} ${secretId} does not declare`] : []),
    ];
    throw new InvalidInputError(`the JSON object on stdin ${problems.join(' and ')}: expected ${shape}; ${unchanged}`, { hint });
  }
  const value: Record<string, string | number> = {};
  for (const f of fields) {
    const v = given[f];
    if (typeof v === 'number' && Number.isFinite(v)) value[f] = v;
    else if (typeof v === 'string' && v.trim() && !v.includes('\0')) value[f] = v;
    else throw new InvalidInputError(`field ${f} on stdin must be non-empty text (or a number); ${unchanged}`, { hint });
  }
  return value;
}
