// The stack half of `watchpoint dev --watch`: after a change under src/stack or src/config, the local
// template is synthesized again in a child process (this process has the old stack modules loaded;
// the assembly cache makes an unchanged stack a copy) and compared with the running plan. What
// changed is applied in place, and only that:
// - a function whose settings changed (environment, timeout, memory, handler) gets them and fresh
//   containers;
// - a queue whose settings changed (visibility timeout, redrive policy) gets them by
//   SetQueueAttributes: the queue, its messages and its URL stay, and its event source mappings
//   restart with the new visibility;
// - a changed event source mapping (batch size, ReportBatchItemFailures) or schedule restarts alone.
// Queues and buckets are never recreated while the platform runs: an added or removed queue,
// bucket, function, bucket notification or route is named, and applied by a restart.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DevPlan, FunctionPlan, Template } from './template.ts';

export interface PlanChanges {
  /** Logical ids of functions whose settings changed (same function, new environment/timeout/memory/handler). */
  functions: string[];
  /** Logical ids of queues whose settings changed (same queue: new visibility timeout or redrive policy). */
  queues: string[];
  /** Logical ids of event source mappings whose settings changed (same queue and function). */
  eventSources: string[];
  /** Logical ids of schedules whose settings changed (same function: new expression or input). */
  schedules: string[];
  /** What changed that a running platform does not apply, one phrase each (empty: nothing). */
  needRestart: string[];
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function functionSettings(fn: FunctionPlan): string {
  return canonical({ handlerDir: fn.handlerDir, timeoutSeconds: fn.timeoutSeconds, memoryMb: fn.memoryMb, environment: fn.environment, logGroup: fn.logGroupLogicalId ?? null });
}

/** Which parts of the plan changed, by kind; items compared by their logical id (or route key). */
export function diffPlans(running: DevPlan, next: DevPlan): PlanChanges {
  const functions: string[] = [];
  const needRestart: string[] = [];
  const applied = { queue: [] as string[], 'event source mapping': [] as string[], schedule: [] as string[] };
  const before = new Map(running.functions.map((fn) => [fn.logicalId, fn]));
  const after = new Map(next.functions.map((fn) => [fn.logicalId, fn]));
  for (const [id, fn] of after) {
    const old = before.get(id);
    if (!old) needRestart.push(`function ${fn.id} added`);
    else if (functionSettings(old) !== functionSettings(fn)) functions.push(id);
  }
  for (const [id, fn] of before) if (!after.has(id)) needRestart.push(`function ${fn.id} removed`);
  // `identity`: what must stay the same for a change to be applied in place (else: named for a restart).
  const kinds: [string, (plan: DevPlan) => { key: string; logicalId: string; value: unknown; identity: unknown }[]][] = [
    ['queue', (plan) => plan.queues.map((q) => ({ key: q.id, logicalId: q.logicalId, value: q, identity: q.logicalId }))],
    ['bucket', (plan) => plan.buckets.map((b) => ({ key: b.id, logicalId: b.logicalId, value: b, identity: b }))],
    ['event source mapping', (plan) => plan.eventSources.map((e) => ({ key: e.logicalId, logicalId: e.logicalId, value: e, identity: [e.queueLogicalId, e.functionLogicalId] }))],
    ['bucket notification', (plan) => plan.notifications.map((n) => ({ key: `${n.bucketLogicalId}->${n.functionLogicalId}`, logicalId: '', value: n, identity: n }))],
    ['schedule', (plan) => plan.schedules.map((s) => ({ key: s.logicalId, logicalId: s.logicalId, value: s, identity: s.functionLogicalId }))],
    ['HTTP API route', (plan) => plan.routes.map((r) => ({ key: r.routeKey, logicalId: '', value: r, identity: r }))],
  ];
  for (const [kind, items] of kinds) {
    const was = new Map(items(running).map((item) => [item.key, item]));
    const now = new Map(items(next).map((item) => [item.key, item]));
    for (const [key, item] of now) {
      const old = was.get(key);
      if (!old) needRestart.push(`${kind} ${key} added`);
      else if (canonical(old.value) === canonical(item.value)) continue;
      else if (kind in applied && canonical(old.identity) === canonical(item.identity)) applied[kind as keyof typeof applied].push(item.logicalId);
      else needRestart.push(`${kind} ${key} changed`);
    }
    for (const key of was.keys()) if (!now.has(key)) needRestart.push(`${kind} ${key} removed`);
  }
  return { functions, queues: applied.queue, eventSources: applied['event source mapping'], schedules: applied.schedule, needRestart };
}

/** The local stage's templates from a fresh process (src/dev/local-template-child.ts), or esbuild/CDK's error text. */
export function synthLocalInChild(root: string, timeoutMs = 180_000): Promise<{ platform: Template; registry: Template } | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'src', 'dev', 'local-template-child.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return resolve({ error: err.trim().split('\n').filter((line) => !/ExperimentalWarning|--trace-warnings/.test(line)).slice(-12).join('\n') || `the synth exited ${code}` });
      try {
        resolve(JSON.parse(out) as { platform: Template; registry: Template });
      } catch {
        resolve({ error: 'the synth printed no templates' });
      }
    });
  });
}
