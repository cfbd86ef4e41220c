// The public entry `rotor/rotator` for rotator plug-ins: the contract, parameter helpers, password
// generation and rotor's errors. Re-exported whole (`export *`) so what those modules add is public
// with them; import from here, never from rotor's src/ paths, which may move.
export * from '../rotator/contract.js';
export * from '../rotator/params.js';
export * from '../rotator/password.js';
export * from '../errors.js';
export { redactError, scrub } from '../redact.js';
export type { ConformanceHarness } from '../rotator/conformance.js';
