// Types of the example's conformance harness, for TypeScript callers (rotor's own tests).
import type { ConformanceHarness } from 'rotor/rotator';

export default function harness(): Promise<
  ConformanceHarness & { service: { url: string; port: number; keyCount(): number; close(): Promise<void> } }
>;
