// OpenTelemetry traces of runs, when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set:
// one span per run, a child span per step, built when the run ends from the times the state
// database recorded. So no engine code changes, spans survive a worker dying mid-run, and the
// trace id is the run id (32 hex digits), so a run is found in the tracing backend by its id.
import { SpanStatusCode, ROOT_CONTEXT, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  RandomIdGenerator,
  type IdGenerator,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { scrub } from '../redact.js';
import type { Queryable } from '../state/db.js';
import { getRun, listSteps } from '../state/runs.js';

export interface RunTracer {
  /** Exports the run's trace if it has ended; a run still in flight is skipped. */
  exportRun(db: Queryable, runId: string): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Random ids, except the trace id of a run's root span, which is the run id itself. */
class RunIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  next: string | undefined;
  generateTraceId(): string {
    const id = this.next ?? this.random.generateTraceId();
    this.next = undefined;
    return id;
  }
  generateSpanId(): string {
    return this.random.generateSpanId();
  }
}

export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** A tracer exporting over OTLP/HTTP as the OTEL_* environment says, or `exporter` (tests). */
export function createRunTracer(opts: { exporter?: SpanExporter; serviceName?: string } = {}): RunTracer {
  const ids = new RunIdGenerator();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'rotor' }),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor(opts.exporter ?? new OTLPTraceExporter(), { scheduledDelayMillis: 1000 })],
  });
  const tracer: Tracer = provider.getTracer('rotor');
  const exported = new Set<string>();
  return {
    async exportRun(db, runId) {
      if (exported.has(runId)) return;
      const run = await getRun(db, runId);
      if (!run?.finishedAt) return;
      const steps = await listSteps(db, runId);
      exported.add(runId);
      if (exported.size > 10_000) exported.delete(exported.values().next().value!);
      ids.next = runId.replace(/-/g, '').toLowerCase();
      const root = tracer.startSpan('rotor.run', {
        root: true,
        startTime: run.createdAt,
        attributes: {
          'rotor.run.id': run.id,
          'rotor.secret.id': run.secretId,
          'rotor.run.trigger': run.trigger,
          'rotor.run.actor': run.actor,
          'rotor.run.state': run.state,
          'rotor.run.outcome': run.outcome ?? '',
          'rotor.run.attempts': run.totalAttempts,
        },
      });
      const parent = trace.setSpan(ROOT_CONTEXT, root);
      for (const s of steps) {
        const span = tracer.startSpan(
          `rotor.step ${s.step}`,
          {
            startTime: s.startedAt,
            attributes: { 'rotor.step': s.step, 'rotor.step.attempt': s.attempt, 'rotor.step.status': s.status, 'rotor.run.id': run.id },
          },
          parent,
        );
        if (s.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: scrub(s.error ?? 'failed') });
        span.end(s.finishedAt ?? run.finishedAt);
      }
      if (run.state === 'needs-attention') root.setStatus({ code: SpanStatusCode.ERROR, message: scrub(run.error ?? 'needs attention') });
      root.end(run.finishedAt);
    },
    async flush() {
      await provider.forceFlush();
    },
    async close() {
      await provider.shutdown().catch(() => undefined);
    },
  };
}
