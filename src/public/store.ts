// The public entry `rotor/store` for secret store plug-ins: the store contract and rotor's errors,
// re-exported whole so that what those modules add is public with them.
export * from '../store/contract.js';
export * from '../errors.js';
