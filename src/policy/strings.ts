// Strings that outlive the policy file they were read from. V8 makes a string cut out of a longer
// one (13 characters or more) a view that keeps the whole longer one alive: an id read by the
// YAML parser holds its entire file in memory for as long as the id lives. What a pass keeps per
// secret (plan entries, ids for the duplicate check) gets its own copy, and the few values that
// repeat across thousands of secrets (rotator names, classes, consumer names) one shared copy.

/** `s` as a string of its own, not a view into the text it was cut from. */
export function ownCopy(s: string): string {
  // Appending flattens into a new string; cutting the character off again views that one.
  return s.length < 13 ? s : (s + ' ').slice(0, -1);
}

const shared = new Map<string, string>();

/** One copy of each distinct value (few of them: names, classes), owned. */
export function shareString(s: string): string {
  let copy = shared.get(s);
  if (copy === undefined) {
    copy = ownCopy(s);
    // A bound, in case some field is less repetitive than expected.
    if (shared.size > 10_000) shared.clear();
    shared.set(copy, copy);
  }
  return copy;
}
