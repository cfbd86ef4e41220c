// The attacker in `npm run bench -- hostile`, run under a raised `ulimit -n`: holds half-open
// connections and /events streams against the dashboard at argv[2] (loopback addresses
// 127.0.0.2-5), asks /healthz from 127.0.0.1 every 100 ms, prints {"held"} once in place and,
// after "stop" on stdin, {"healthz":[ms...],"failures","refused503","opened"}.
import { createInterface } from 'node:readline';
import { startFlood } from '../test/helpers/flood.js';

const [url, halfOpen, streams] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const flood = startFlood({ url, halfOpen, streams, sources: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'] });
const healthz: number[] = [];
let failures = 0;
let probing = true;
const probe = (async () => {
  while (probing) {
    const t = performance.now();
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    await r?.text();
    if (r?.status === 200) healthz.push(performance.now() - t);
    else failures++;
    await new Promise((res) => setTimeout(res, 100));
  }
})();
// In place: every connection attempted at least once (refused ones keep coming back, so the
// count never settles), then five seconds for the listen backlog to drain.
while (flood.stats.opened < halfOpen + streams) await new Promise((r) => setTimeout(r, 200));
await new Promise((r) => setTimeout(r, 5_000));
process.stdout.write(JSON.stringify({ held: flood.stats.held(), opened: flood.stats.opened }) + '\n');
for await (const line of createInterface({ input: process.stdin })) if (line === 'stop') break;
probing = false;
await probe;
const { opened, refused503 } = flood.stats;
await flood.stop();
process.stdout.write(JSON.stringify({ healthz, failures, opened, refused503 }) + '\n');
process.exit(0);
