// The public entry `rotor/consumer` for consumer plug-ins: the consumer contract and rotor's
// errors, re-exported whole so that what those modules add is public with them.
export * from '../consumers/contract.js';
export * from '../errors.js';
export { redactError, scrub } from '../redact.js';
