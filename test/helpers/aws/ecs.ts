// A stateful fake of Amazon ECS services for the ecs consumer, behind aws-sdk-client-mock (only
// `send` is replaced: the consumer's own client code runs as in production). UpdateService with
// forceNewDeployment starts a PRIMARY deployment (rolloutState IN_PROGRESS) and demotes the others
// to ACTIVE; every call moves time on: one task of the rolling deployment starts per `stepMs`, by
// calling `startTask` (the test's data plane: a task reads the store and logs in to a real server),
// and an old task stops for each one that runs. A deployment whose tasks all run is COMPLETED and
// the older ones go INACTIVE (no longer listed). Tasks that fail to start count towards the
// deployment circuit breaker's threshold: the deployment goes FAILED and, with rollback on, a new
// PRIMARY deployment of the last completed one starts ("rolling back to deploymentId ..."), as
// the ECS rolling-update documentation describes.
import {
  AccessDeniedException,
  ClusterNotFoundException,
  DescribeServicesCommand,
  ECSClient,
  InvalidParameterException,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryState, type FakeState } from './state.js';
import { FAKE_ACCOUNT, FAKE_IDENTITY, FAKE_REGION } from './secrets-manager.js';

export interface FakeDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  desiredCount: number;
  runningCount: number;
  failedTasks: number;
  createdAt: number;
  updatedAt: number;
  /** When its rollout reached COMPLETED (ms), for tests. */
  completedAt?: number;
  /** Tasks of this deployment fail to start (a broken image); rollbacks are never broken. */
  broken: boolean;
}

export interface FakeService {
  cluster: string;
  name: string;
  desiredCount: number;
  circuitBreaker: { enable: boolean; rollback: boolean };
  /** New deployments started by UpdateService from now on get broken tasks. */
  breakNewDeployments: boolean;
  deployments: FakeDeployment[];
  lastStepAt: number;
}

export interface EcsState {
  services: Record<string, FakeService>;
  denied: string[];
  calls: string[];
  seq: number;
}

export interface FakeEcsOptions {
  /** How long one task takes to start. @defaultValue 100 */
  stepMs?: number;
  /** Starts one task of `service`: true when it became healthy. @defaultValue always healthy */
  startTask?: (service: string, deploymentId: string) => Promise<boolean>;
  /** Failed tasks that trip the circuit breaker (ECS: at least 3, at most 200). @defaultValue 3 */
  failureThreshold?: number;
}

const meta = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };
const arnOf = (s: { cluster: string; name: string }) => `arn:aws:ecs:${FAKE_REGION}:${FAKE_ACCOUNT}:service/${s.cluster}/${s.name}`;

export class FakeEcs {
  private readonly stepMs: number;
  private readonly threshold: number;
  constructor(
    private readonly opts: FakeEcsOptions = {},
    readonly state: FakeState<EcsState> = memoryState<EcsState>({ services: {}, denied: [], calls: [], seq: 0 }),
  ) {
    this.stepMs = opts.stepMs ?? 100;
    this.threshold = opts.failureThreshold ?? 3;
  }

  /** Adds a service running `desiredCount` tasks of one COMPLETED deployment. */
  async addService(s: { cluster: string; name: string; desiredCount: number; circuitBreaker?: { enable: boolean; rollback: boolean } }) {
    await this.state.transact((st) => {
      const now = Date.now();
      st.services[`${s.cluster}/${s.name}`] = {
        cluster: s.cluster,
        name: s.name,
        desiredCount: s.desiredCount,
        circuitBreaker: s.circuitBreaker ?? { enable: true, rollback: true },
        breakNewDeployments: false,
        deployments: [deployment(st, now, s.desiredCount, 'COMPLETED', s.desiredCount, false)],
        lastStepAt: now,
      };
    });
  }

  /** From now on, deployments UpdateService starts on this service have tasks that crash. */
  async breakNewDeployments(cluster: string, name: string, broken = true): Promise<void> {
    await this.state.transact((st) => void (st.services[`${cluster}/${name}`]!.breakNewDeployments = broken));
  }

  /** ECS answers AccessDeniedException to `action` (`ecs:UpdateService`) on the services of `cluster`. */
  async deny(action: string, cluster: string): Promise<void> {
    await this.state.transact((st) => void st.denied.push(`${action} ${cluster}`));
  }

  async service(cluster: string, name: string): Promise<FakeService | undefined> {
    return (await this.state.snapshot()).services[`${cluster}/${name}`];
  }

  async calls(): Promise<string[]> {
    return (await this.state.snapshot()).calls;
  }

  /** Routes every ECSClient in this process here; returns the undo. */
  install(): () => void {
    const mock = mockClient(ECSClient);
    mock.onAnyCommand().rejects(new Error('the ECS fake does not implement this command'));
    mock.on(UpdateServiceCommand).callsFake((input: Record<string, unknown>) => this.handle('UpdateService', input));
    mock.on(DescribeServicesCommand).callsFake((input: Record<string, unknown>) => this.handle('DescribeServices', input));
    return () => mock.restore();
  }

  async handle(action: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.state.transact(async (st) => {
      const cluster = String(input.cluster ?? 'default');
      const names = action === 'UpdateService' ? [String(input.service)] : ((input.services as string[] | undefined) ?? []);
      st.calls.push(`${action} ${names.map((n) => `${cluster}/${n}`).join(',')}`);
      if (st.denied.includes(`ecs:${action} ${cluster}`)) {
        const resource = arnOf({ cluster, name: names[0] ?? '*' });
        throw new AccessDeniedException({
          $metadata: meta,
          message: `User: ${FAKE_IDENTITY} is not authorized to perform: ecs:${action} on resource: ${resource} because no identity-based policy allows the ecs:${action} action`,
        });
      }
      if (!Object.values(st.services).some((s) => s.cluster === cluster)) {
        throw new ClusterNotFoundException({ $metadata: meta, message: 'Cluster not found.' });
      }
      for (const s of Object.values(st.services)) await this.advance(st, s);
      if (action === 'DescribeServices') {
        if (names.length > 10) throw new InvalidParameterException({ $metadata: meta, message: 'services can have at most 10 items.' });
        const found = names.map((n) => st.services[`${cluster}/${n.split('/').pop()}`]);
        return {
          services: found.filter((s) => s).map((s) => described(s!)),
          failures: names.filter((_, i) => !found[i]).map((n) => ({ arn: arnOf({ cluster, name: n }), reason: 'MISSING' })),
        };
      }
      const s = st.services[`${cluster}/${names[0]!.split('/').pop()}`];
      if (!s) throw new ServiceNotFoundException({ $metadata: meta, message: 'Service not found.' });
      if (input.forceNewDeployment === true) {
        for (const d of s.deployments) d.status = 'ACTIVE';
        s.deployments.unshift(deployment(st, Date.now(), s.desiredCount, 'IN_PROGRESS', 0, s.breakNewDeployments));
        s.lastStepAt = Date.now();
      }
      return { service: described(s) };
    });
  }

  /** Starts (or fails) one task of the rolling deployment per elapsed step, and settles deployments. */
  private async advance(st: EcsState, s: FakeService): Promise<void> {
    const now = Date.now();
    while (now - s.lastStepAt >= this.stepMs) {
      s.lastStepAt += this.stepMs;
      const d = s.deployments.find((x) => x.status === 'PRIMARY');
      if (!d || d.rolloutState !== 'IN_PROGRESS') break;
      if (d.runningCount < d.desiredCount) {
        const healthy = !d.broken && (await (this.opts.startTask?.(s.name, d.id) ?? Promise.resolve(true)));
        d.updatedAt = now;
        if (healthy) {
          d.runningCount++;
          // One old task stops for each new one running (minimumHealthyPercent 100, maximumPercent 200).
          const old = s.deployments.find((x) => x.status === 'ACTIVE' && x.runningCount > 0);
          if (old) old.runningCount--;
        } else if (++d.failedTasks >= this.threshold && s.circuitBreaker.enable) {
          d.rolloutState = 'FAILED';
          d.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
          const last = s.deployments.find((x) => x.completedAt !== undefined && x.id !== d.id);
          if (s.circuitBreaker.rollback && last) {
            d.status = 'ACTIVE';
            const back = deployment(st, now, s.desiredCount, 'IN_PROGRESS', 0, false);
            back.rolloutStateReason = `ECS deployment circuit breaker: rolling back to deploymentId ${last.id}.`;
            s.deployments.unshift(back);
          }
          continue;
        }
      }
      const others = s.deployments.filter((x) => x !== d);
      if (d.runningCount === d.desiredCount && others.every((x) => x.runningCount === 0)) {
        d.rolloutState = 'COMPLETED';
        d.rolloutStateReason = `ECS deployment ${d.id} completed.`;
        d.completedAt = now;
        // Deployments with no tasks left go INACTIVE and are no longer listed.
        s.deployments = [d];
      }
    }
  }
}

function deployment(st: EcsState, now: number, desired: number, rollout: FakeDeployment['rolloutState'], running: number, broken: boolean) {
  st.seq++;
  const d: FakeDeployment = {
    id: `ecs-svc/${String(4_000_000_000_000_000_000 + st.seq * 7919)}`,
    status: 'PRIMARY',
    rolloutState: rollout,
    rolloutStateReason: rollout === 'COMPLETED' ? 'ECS deployment completed.' : 'ECS deployment in progress.',
    desiredCount: desired,
    runningCount: running,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
    broken,
  };
  if (rollout === 'COMPLETED') d.completedAt = now;
  return d;
}

function described(s: FakeService): Record<string, unknown> {
  return {
    serviceArn: arnOf(s),
    serviceName: s.name,
    clusterArn: `arn:aws:ecs:${FAKE_REGION}:${FAKE_ACCOUNT}:cluster/${s.cluster}`,
    status: 'ACTIVE',
    desiredCount: s.desiredCount,
    runningCount: s.deployments.reduce((n, d) => n + d.runningCount, 0),
    deploymentConfiguration: { deploymentCircuitBreaker: s.circuitBreaker, maximumPercent: 200, minimumHealthyPercent: 100 },
    deployments: s.deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: `arn:aws:ecs:${FAKE_REGION}:${FAKE_ACCOUNT}:task-definition/${s.name}:1`,
      desiredCount: d.desiredCount,
      pendingCount: d.rolloutState === 'IN_PROGRESS' ? d.desiredCount - d.runningCount : 0,
      runningCount: d.runningCount,
      failedTasks: d.failedTasks,
      createdAt: new Date(d.createdAt),
      updatedAt: new Date(d.updatedAt),
      launchType: 'FARGATE',
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    })),
  };
}
