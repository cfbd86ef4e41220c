// Worker threads do not inherit the tsx loader the main thread registered (bin/rotor.js):
// register it here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
