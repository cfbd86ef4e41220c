// The ecs consumer: a new deployment of each listed service (UpdateService with forceNewDeployment,
// as `aws ecs update-service --force-new-deployment` does), so its tasks start again and read the
// new version, and confirmation from ECS itself: the deployment's rolloutState is COMPLETED and the
// PRIMARY deployment runs its desired count. A FAILED deployment, or one the circuit breaker rolled
// back, can never confirm: that is a CannotConfirmError, and the engine rolls the credential back at once.
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand, type Service } from '@aws-sdk/client-ecs';
import { awsError, awsErrorCode } from '../../aws/errors.js';
import { sdkLogger } from '../../aws/sdk-logger.js';
import { RotorError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { CannotConfirmError, implementConsumer, type ConsumerContext, type ConsumerNotice } from '../contract.js';
import { Recent } from '../recent.js';
import descriptor, { type EcsParams } from './descriptor.js';

export type { EcsParams } from './descriptor.js';

/** The deployment a notify started, for one service. */
interface Started {
  deploymentId: string;
  createdAt: number;
}

/**
 * Deployments started, by run, service and version. In memory on purpose, as the webhook keeps its
 * answers: a worker that restarted between notify and confirm starts one more deployment (notify is
 * idempotent in effect: the tasks restart once more and read the same version). Bounded.
 */
const started = new Recent<Started>(10_000);

const keyOf = (p: EcsParams, service: string, notice: ConsumerNotice) =>
  [notice.runId, p.region ?? '', p.cluster, service, notice.versionId].join('\0');

/** A client for one call, closed after it: the logger carries the run's ids. */
async function withClient<T>(p: EcsParams, log: Logger, fn: (c: ECSClient) => Promise<T>): Promise<T> {
  const client = new ECSClient({ ...(p.region ? { region: p.region } : {}), logger: sdkLogger(log, 'ecs') });
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** `cluster/service` as people and IAM read it. */
const named = (p: EcsParams, service: string) => `${p.cluster}/${service}`;

function notFound(p: EcsParams, service: string, why: string): CannotConfirmError {
  return new CannotConfirmError(`ECS service ${named(p, service)} ${why}${p.region ? ` in ${p.region}` : ''}`, {
    hint: 'check cluster, services and region (or AWS_REGION) of the ecs consumer in the policy',
  });
}

/** Starts a new deployment of `service`; its tasks start again and read the secret's CURRENT version. */
async function deploy(ctx: ConsumerContext<EcsParams>, service: string, notice: ConsumerNotice): Promise<Started> {
  const p = ctx.params;
  let out: Service | undefined;
  try {
    out = await withClient(
      p,
      ctx.log,
      async (c) => (await c.send(new UpdateServiceCommand({ cluster: p.cluster, service, forceNewDeployment: true }))).service,
    );
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'ClusterNotFoundException') throw notFound(p, service, 'cannot be restarted: its cluster does not exist');
    if (code === 'ServiceNotFoundException') throw notFound(p, service, 'does not exist');
    if (code === 'ServiceNotActiveException') throw notFound(p, service, 'is not ACTIVE (it is being or was deleted)');
    throw awsError(err, { action: 'ecs:UpdateService', resource: named(p, service) });
  }
  const primary = out?.deployments?.find((d) => d.status === 'PRIMARY');
  if (!primary?.id) throw new RotorError(`ECS answered UpdateService on ${named(p, service)} without a PRIMARY deployment`);
  const s = { deploymentId: primary.id, createdAt: (primary.createdAt ?? new Date()).getTime() };
  started.set(keyOf(p, service, notice), s);
  ctx.log.info({ service: named(p, service), deployment: s.deploymentId, version: notice.versionId }, 'ECS deployment started');
  return s;
}

async function describe(ctx: ConsumerContext<EcsParams>): Promise<Map<string, Service>> {
  const p = ctx.params;
  const out = await withClient(p, ctx.log, (c) =>
    c.send(new DescribeServicesCommand({ cluster: p.cluster, services: [...p.services] })),
  ).catch((err: unknown) => {
    if (awsErrorCode(err) === 'ClusterNotFoundException')
      throw notFound(p, p.services.join(','), 'cannot be described: its cluster does not exist');
    throw awsError(err, { action: 'ecs:DescribeServices', resource: named(p, p.services.join(',')) });
  });
  const byName = new Map<string, Service>();
  for (const s of out.services ?? []) {
    // The policy may name a service by name or ARN; ECS answers with both.
    const listed = p.services.find((x) => x === s.serviceName || x === s.serviceArn);
    if (listed) byName.set(listed, s);
  }
  return byName;
}

/** What a service's deployments say about the one rotor started: done, still going (why), or failed for good. */
export function judge(service: Service, mine: Started): { done: true } | { done: false; progress: string } {
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const ours = deployments.find((d) => d.id === mine.deploymentId);
  if (ours?.rolloutState === 'FAILED') throw failed(`deployment ${ours.id} FAILED: ${ours.rolloutStateReason ?? 'no reason given'}`);
  // A deployment that is no longer listed went INACTIVE before completing: the circuit breaker rolled
  // it back (its rollback may well complete, but its tasks are not the ones rotor asked for), or
  // another deployment replaced it. Either way it cannot confirm (the rule of aws-actions/amazon-ecs-deploy-task-definition PR 860).
  if (!ours)
    throw failed(
      `deployment ${mine.deploymentId} is no longer listed: the deployment circuit breaker rolled it back, or another deployment replaced it`,
    );
  if (!primary) return { done: false, progress: 'no PRIMARY deployment yet' };
  if (primary.id !== mine.deploymentId) {
    if (/rolling back/i.test(primary.rolloutStateReason ?? '')) {
      throw failed(`deployment ${mine.deploymentId} is being rolled back by the deployment circuit breaker: ${primary.rolloutStateReason}`);
    }
    // Someone deployed again after rotor: those tasks start later still, so they read the new version too.
    if ((primary.createdAt?.getTime() ?? 0) < mine.createdAt) {
      return { done: false, progress: `PRIMARY deployment ${primary.id} is older than ${mine.deploymentId}` };
    }
  }
  if (primary.rolloutState === 'FAILED')
    throw failed(`deployment ${primary.id} FAILED: ${primary.rolloutStateReason ?? 'no reason given'}`);
  // Without rolloutState (no ECS rolling-update controller) a deployment is complete when it is alone.
  const complete = primary.rolloutState ? primary.rolloutState === 'COMPLETED' : deployments.length === 1;
  const running = primary.runningCount ?? 0;
  const desired = primary.desiredCount ?? 0;
  if (complete && running === desired) return { done: true };
  return {
    done: false,
    progress: `deployment ${primary.id} ${primary.rolloutState ?? 'in progress'}, ${running} of ${desired} tasks running`,
  };
}

function failed(why: string): CannotConfirmError {
  return new CannotConfirmError(why, {
    hint: "the service's new tasks did not become healthy; see the service's events (aws ecs describe-services), fix it, and rotate again",
  });
}

export const ecsConsumer = implementConsumer<EcsParams>(descriptor, {
  async notify(ctx, notice) {
    for (const service of ctx.params.services) await deploy(ctx, service, notice);
  },
  async confirm(ctx, notice) {
    const p = ctx.params;
    const mine = new Map<string, Started>();
    for (const service of p.services) {
      // Not known here (a worker restarted after notify): deploy again, the only way to know which deployment to watch.
      mine.set(service, started.get(keyOf(p, service, notice)) ?? (await deploy(ctx, service, notice)));
    }
    const services = await describe(ctx);
    const waiting: string[] = [];
    for (const name of p.services) {
      const s = services.get(name);
      if (!s || s.status !== 'ACTIVE') throw notFound(p, name, s ? `is ${s.status ?? 'not ACTIVE'}` : 'does not exist');
      try {
        const verdict = judge(s, mine.get(name)!);
        if (!verdict.done) waiting.push(`${named(p, name)}: ${verdict.progress}`);
      } catch (err) {
        if (err instanceof CannotConfirmError)
          throw new CannotConfirmError(`ECS service ${named(p, name)}: ${err.message}`, { hint: err.hint });
        throw err;
      }
    }
    // Still rolling out: said as an error so the run records (and a timeout reports) how far it got.
    if (waiting.length) throw new RotorError(`ECS rollout not complete: ${waiting.join('; ')}`);
    return notice.versionId;
  },
});
