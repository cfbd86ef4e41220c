// bull-board, read-only, under the dashboard's own checks: every queue in readOnlyMode (bull-board
// refuses its mutating routes itself) and, as a second lock, only GET and HEAD reach it at all.
// Each job links back to its run page (job data holds the run id, never a value).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import type { QueueKit } from '../queue/backend.js';
import { QUEUE_NAMES } from './details.js';

export const BOARD_PATH = '/queues/board';

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

export function bullBoardApp(kit: QueueKit): Hono {
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) =>
        new BullMQAdapter(kit.queue(name).raw, {
          readOnlyMode: true,
          allowRetries: false,
          externalJobUrl: (job) => {
            const runId = (job.data as { runId?: unknown } | undefined)?.runId;
            return typeof runId === 'string' ? { href: `/runs/${runId}`, displayText: 'run page' } : { href: '/' };
          },
        }),
    ),
    // @bull-board/hono pins its own copy of @bull-board/api (one patch behind): same shape, separate types.
    serverAdapter: adapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: 'rotor queues', miscLinks: [{ text: 'rotor dashboard', url: '/' }], hideDocsLink: true } },
  });
  const guarded = new Hono();
  guarded.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.json({ error: 'bull-board is read-only in rotor' }, 405);
    await next();
  });
  guarded.route('/', adapter.registerPlugin() as unknown as Hono);
  return guarded;
}
