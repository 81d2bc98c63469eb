// `watchpoint dev`: the whole platform on 127.0.0.1, wired from the synthesized template of a `local`
// stage. Start order: lock, gateway (its URL goes into the template as AWS_ENDPOINT_URL), then in
// parallel the servers (fauxqs, aws-ses-v2-local, PostgreSQL) and the synth; then queues and
// buckets from the template, the seeded SSM parameters, the migrations (the code `db migrate`
// runs), the functions (worker threads running the handler modules) and their triggers.
// Everything started is stopped by stop(), in reverse order, whatever failed.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { STATE_FILE, lock, type DevState } from './state.ts';
export { DevAlreadyRunningError, readDevState, type DevState } from './state.ts';
import { fileURLToPath } from 'node:url';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { generateApiKey } from '../lambdas/shared/api-keys.ts';
import { AwsLayer, LOCAL_ACCOUNT, type LocalStack } from './aws-layer.ts';
import { DlqSourceTracker } from './dlq-source.ts';
import { DEFAULT_GRID, type HotPoint, type SyntheticGrid } from './forecast.ts';
import { FunctionHost } from './function-host.ts';
import { CLIENT_IDLE_SOCKET_MS, startGateway } from './gateway.ts';
import { LambdaApi } from './lambda-api.ts';
import type { ReloadEvent } from './watch.ts';
import type { PlanChanges } from './stack-watch.ts';
import { startHttpApi } from './http-api.ts';
import { installNetworkGuard } from './network-guard.ts';
import { CycleTracker, cycleLine, prettyLine, type CycleSummary } from './logs.ts';
import { LogStore } from './log-store.ts';
import { LogsApi } from './logs-api.ts';
import { AlarmEvaluator, MetricStore, metricsOfLine, readMonitoring, type AlarmDefinition, type AlarmState, type AlarmStatus } from './alarms.ts';
import { CloudWatchApi } from './cloudwatch-api.ts';
import { startDevPostgres } from './postgres.ts';
import { startWebhookReceiver, type WebhookReceiver } from './receiver.ts';
import { startRunPodStandIn, type RunPodStandIn } from './runpod-standin.ts';
import { sampleQueue } from './queue-metrics.ts';
import { readPlan, resolveValue, type DevPlan, type FunctionPlan, type PhysicalResource, type Template } from './template.ts';
import { startBucketWatch, startSchedule, startSqsMapping, type Outcome, type Trigger } from './triggers.ts';

export const LOCAL_ENV = 'local';
export const LOCAL_REGION = 'us-east-1';
/**
 * The session's credentials for the local endpoint, new in every process: the gateway refuses any
 * other access key id, so another user or process on the machine cannot read the session's SSM
 * (database URL, admin key) without `.watchpoint/dev.json` (mode 0600). Real ones are never needed.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: `WPDEV${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64url') };

const SRC = dirname(dirname(fileURLToPath(import.meta.url)));

export interface DevOptions {
  cwd: string;
  /** Time compression for schedules and visibility timeouts (1 = real time). */
  speed: number;
  /** Use this PostgreSQL instead of the embedded one (the database must exist; it is migrated). */
  databaseUrl?: string;
  /** Lets the webhook worker POST to http:// and loopback URLs (WEBHOOK_ALLOW_INSECURE_TARGETS). */
  allowLoopbackWebhooks: boolean;
  grid?: SyntheticGrid;
  hotPoints?: HotPoint[];
  /** How long the RunPod stand-in "computes" before writing the forecast. */
  runPodDelayMs?: number;
  /** Run the schedules once at start (the DataPoller begins a cycle at once). Default true. */
  runSchedulesAtStart?: boolean;
  /**
   * false: the DataPoller's schedule never fires on its own, and pollNow() alone starts forecast runs
   * (tests that set up watchpoints before the first run; at --speed 180 the schedule fires every 5 s).
   * Default true.
   */
  pollerSchedule?: boolean;
  /** Containers per eval worker function (Lambda runs many; 2 cores here). */
  evalConcurrency?: number;
  log: (line: string) => void;
  onCycle?: (cycle: CycleSummary) => void;
  onOutcome?: (outcome: Outcome) => void;
  /** Reload a function's containers when its handler code changes (`--watch`, watch.ts). */
  watch?: boolean;
  onReload?: (event: ReloadEvent) => void;
  /** After a src/stack change was applied (--watch): functions restarted, and what needs a restart. */
  onStackReload?: (event: { restarted: string[]; applied: string[]; needRestart: string[] }) => void;
}

export interface DevPlatform {
  state: DevState;
  /** Shown once: the admin key the platform generated and stored in SSM. */
  adminKey: string;
  plan: DevPlan;
  queueUrls: Record<string, string>;
  buckets: Record<string, string>;
  hosts: Map<string, FunctionHost>;
  receiver: WebhookReceiver;
  runpod: RunPodStandIn;
  cycles: CycleTracker;
  /** Every function's log lines, as CloudWatch Logs would hold them. */
  logStore: LogStore;
  /** The template's alarms, evaluated locally. */
  alarms: AlarmEvaluator;
  databaseUrl: string;
  /** The embedded PostgreSQL's pid (undefined with --database-url), so a caller can check it ended. */
  postgresPid: number | undefined;
  /** Rejects when a server dies on its own: the caller then stops everything. */
  crashed: Promise<never>;
  /** Runs the DataPoller now (one schedule tick). */
  pollNow(): Promise<unknown>;
  /** `--watch`'s second half: applies what changed from the running plan to `next` in place; names the rest. */
  applyPlan(next: DevPlan): Promise<{ restarted: string[]; applied: string[]; needRestart: string[] }>;
  stop(): Promise<void>;
  /** ms from start to ready, by phase. */
  timings: Record<string, number>;
}

/** The SNS email subscription's text for an alarm state change, as it lands in the local mail store. */
function alarmEmail(alarm: AlarmDefinition, status: AlarmStatus, previous: AlarmState, speed: number): string {
  return [
    `You are receiving this email because your Amazon CloudWatch Alarm "${alarm.name}" in the ${LOCAL_REGION} region has entered the ${status.state} state, because "${status.reason}" at "${status.transitionedAt.toUTCString()}".`,
    '',
    `(Sent by watchpoint dev: the alarm was evaluated locally${speed === 1 ? '' : `, with time compressed by --speed ${speed}`}.)`,
    '',
    'Alarm Details:',
    `- Name:                       ${alarm.name}`,
    `- Description:                ${alarm.description ?? ''}`,
    `- State Change:               ${previous} -> ${status.state}`,
    `- Reason for State Change:    ${status.reason}`,
    `- Timestamp:                  ${status.transitionedAt.toISOString()}`,
    '',
    'Threshold:',
    `- The alarm is in the ALARM state when the metric is ${alarm.comparison} ${alarm.threshold} for at least ${alarm.datapointsToAlarm} of the last ${alarm.evaluationPeriods} period(s) of ${alarm.periodSeconds} seconds.`,
    '',
    'Monitored Metric:',
    `- MetricNamespace:            ${alarm.namespace}`,
    `- MetricName:                 ${alarm.metricName}`,
    `- Dimensions:                 ${Object.entries(alarm.dimensions).map(([k, v]) => `[${k} = ${v}]`).join(' ')}`,
    `- Period:                     ${alarm.periodSeconds} seconds`,
    `- Statistic:                  ${alarm.statistic}`,
    `- TreatMissingData:           ${alarm.treatMissingData}`,
    '',
    'Find and fix it with: watchpoint status --env local, watchpoint logs --env local --since 10m, watchpoint dlq inspect --env local.',
  ].join('\n');
}

/**
 * fauxqs imports node:sqlite, which prints "ExperimentalWarning: SQLite is an experimental feature"
 * to the operator's terminal on Node 22: nothing they can act on. Only that warning is dropped, and
 * only while fauxqs loads.
 */
async function withoutSqliteWarning<T>(load: () => Promise<T>): Promise<T> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type ?? (warning as Error).name;
    if (type === 'ExperimentalWarning' && /SQLite/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await load();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * How long an idle function container lives: Lambda reclaims idle execution environments after
 * minutes (not documented exactly; 5 is typical), here divided by --speed, at least 10 s so a
 * queue's next batch does not start cold every time.
 */
export function idleContainerMs(speed: number): number {
  return Math.max(10_000, 300_000 / speed);
}

/** The HTTP API stage's access log settings: its format and the log group of its DestinationArn. */
function stageAccessLog(template: Template): { format: string; logGroupLogicalId: string } | undefined {
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::ApiGatewayV2::Stage') continue;
    const settings = resource.Properties?.AccessLogSettings as { DestinationArn?: { 'Fn::GetAtt'?: [string, string] }; Format?: unknown } | undefined;
    const group = settings?.DestinationArn?.['Fn::GetAtt']?.[0];
    if (group && typeof settings?.Format === 'string') return { format: settings.Format, logGroupLogicalId: group };
  }
  return undefined;
}

/** Fills `$context.x` variables as API Gateway does; the format is JSON, so values are escaped for a JSON string; unknown ones are "-". */
export function formatAccessLog(format: string, context: Record<string, string>): string {
  return format.replace(/\$context\.([A-Za-z0-9_.]+)/g, (_, name: string) => JSON.stringify(context[name] ?? '-').slice(1, -1));
}

/** The physical name of a resource with no local server behind it (log groups, roles, ...). */
function localPhysicalName(logicalId: string): string {
  return `${logicalId}-local`;
}

/** Lambda's own lines around each invocation. */
const RUNTIME_LINE = /^(START|END|REPORT) RequestId: /;

/** The endpoint the cached template is synthesized with; each run puts its own gateway's URL in its place. */
const TEMPLATE_ENDPOINT = 'http://127.0.0.1:9';

interface LocalTemplates {
  platform: Template;
  registry: Template;
  platformName: string;
  registryName: string;
}

/** The local stage's settings; the template is synthesized with them and cached by them. */
const LOCAL_STAGE_INPUT = { region: LOCAL_REGION, alertEmail: 'oncall@example.com', runPodEndpointId: 'localdev', awsEndpointUrl: TEMPLATE_ENDPOINT };

/**
 * The local stage's templates, synthesized in-process (no bundling: the handlers run from source;
 * no cdk-nag: it checks deployments), through the assembly cache `synth` and `deploy` use
 * (src/stack/assembly): a start with nothing changed reads the cached templates and skips the synth.
 */
export async function localTemplates(warn: (text: string) => void): Promise<LocalTemplates & { cached: boolean }> {
  const { readTemplatesThroughCache } = await import('../stack/assembly/session.ts');
  return readTemplatesThroughCache({
    envName: LOCAL_ENV,
    stage: LOCAL_STAGE_INPUT,
    imageTag: 'local',
    env: process.env,
    warn,
    read: (dir, stacks): LocalTemplates => {
      const [registry, platform] = stacks;
      if (!registry || !platform) throw new Error(`the cached local assembly in ${dir} does not name both stacks`);
      return {
        registry: JSON.parse(readFileSync(join(dir, registry.templateFile), 'utf8')) as Template,
        platform: JSON.parse(readFileSync(join(dir, platform.templateFile), 'utf8')) as Template,
        registryName: registry.name,
        platformName: platform.name,
      };
    },
  });
}

async function startSes(): Promise<{ url: string; close: () => Promise<void> }> {
  const sesModule = (await import('aws-ses-v2-local')) as unknown as { default: { default?: unknown } | unknown };
  const startSesServer = ((sesModule.default as { default?: unknown }).default ?? sesModule.default) as (config: { host: string; port: number }) => Promise<Server>;
  const ses = await startSesServer({ host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${(ses.address() as AddressInfo).port}`,
    close: async () => {
      ses.closeAllConnections();
      await new Promise<void>((resolve) => ses.close(() => resolve()));
    },
  };
}

export async function startDevPlatform(options: DevOptions): Promise<DevPlatform> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const mark = (name: string) => (timings[name] = Math.round(performance.now() - t0));
  const stops: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const step of stops.reverse()) {
        try {
          await step();
        } catch {
          // keep stopping the rest
        }
      }
    })());
  const crashes: Promise<never>[] = [];
  installNetworkGuard();

  try {
    stops.push(lock(options.cwd, { pid: process.pid, cwd: options.cwd, startedAt: new Date().toISOString() }));
    const gateway = await startGateway();
    stops.push(() => gateway.close());

    // Servers and synth in parallel: initdb runs in its own process while the synth holds this one.
    const { buildApp } = await withoutSqliteWarning(() => import('fauxqs'));
    const fauxqsApp = buildApp({ logger: false, defaultRegion: LOCAL_REGION });
    const fauxqsPromise = fauxqsApp.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => fauxqsApp.close());
    const sesPromise = startSes();
    // A kill -9'd predecessor's server is ended by its watchdog; whatever is still left is cleaned here.
    const postgresPromise = options.databaseUrl ? undefined : startDevPostgres({ recordFile: join(options.cwd, '.watchpoint', 'dev-postgres.json'), warn: (line) => options.log(`warning: ${line}`) });
    const receiverPromise = startWebhookReceiver();
    const templatesPromise = localTemplates((text) => options.log(`warning: ${text}`)).then((t) => (mark(t.cached ? 'template (cached)' : 'synth'), t));
    const cycles = new CycleTracker((cycle) => {
      options.log(cycleLine(cycle));
      options.onCycle?.(cycle);
    });
    const logStore = new LogStore();
    const logGroupOf = new Map<string, string>();
    const repeated = new Set<string>();
    const onLine = (fn: string, line: string, stream: string) => {
      logStore.put(logGroupOf.get(fn) ?? `/aws/lambda/${prefix}-${fn}`, stream, line);
      cycles.observe(line);
      // The runtime's own START/END/REPORT lines are in the store (and `watchpoint logs`), not the terminal.
      if (RUNTIME_LINE.test(line)) return;
      // A schedule whose task this deployment does not enable says so on every tick (every 0.3 s at
      // --speed 180): shown once; `watchpoint logs archiver --env local` has every one.
      const notEnabled = /"event":"TaskNotEnabled".*?"task":"([^"]+)"/.exec(line) ?? /"task":"([^"]+)".*?"event":"TaskNotEnabled"/.exec(line);
      if (notEnabled) {
        if (repeated.has(notEnabled[1]!)) return;
        repeated.add(notEnabled[1]!);
        options.log(`${prettyLine(fn, line)} (repeats on every tick; not shown again)`);
        return;
      }
      options.log(prettyLine(fn, line));
    };
    const prefix = `watchpoint-${LOCAL_ENV}`;
    const hosts = new Map<string, FunctionHost>();
    // One host per function; its containers start on demand (lazily, as Lambda's) and stop when idle.
    const createHosts = (plan: DevPlan) => {
      for (const fn of plan.functions) {
        if (fn.logGroupLogicalId) logGroupOf.set(fn.id, localPhysicalName(fn.logGroupLogicalId));
        const host = new FunctionHost(
          {
            name: fn.id,
            modulePath: join(SRC, 'lambdas', fn.handlerDir, 'index.ts'),
            timeoutSeconds: fn.timeoutSeconds,
            memoryMb: fn.memoryMb,
            concurrency: fn.handlerDir === 'eval-worker' ? (options.evalConcurrency ?? 1) : 1,
            arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${prefix}-${fn.id}`,
            ...(logGroupOf.has(fn.id) ? { logGroupName: logGroupOf.get(fn.id)! } : {}),
            idleMs: idleContainerMs(options.speed),
          },
          onLine,
        );
        hosts.set(fn.logicalId, host);
        stops.push(() => host.stop());
        // Lazy, as Lambda: a function's first container starts with its first invocation.
      }
      // Except the API's: the HTTP API is what a developer calls first, so its container loads its
      // handler while the servers start (its environment arrives with configure()); it stops when idle
      // like any other.
      const apiRoute = plan.routes.find((route) => route.payloadFormatVersion === '2.0');
      if (apiRoute) hosts.get(apiRoute.functionLogicalId)?.prewarm();
      return plan;
    };
    const [fauxqsUrl, ses, postgres, receiver, templates, plan] = await Promise.all([
      fauxqsPromise,
      sesPromise.then((s) => (stops.push(() => s.close()), s)),
      postgresPromise?.then((p) => (stops.push(() => p.stop()), p)),
      receiverPromise.then((r) => (stops.push(() => r.close()), r)),
      templatesPromise,
      templatesPromise.then((t) => createHosts(readPlan(t.platform))),
    ]);
    mark('servers');
    if (postgres) crashes.push(postgres.exited);
    const databaseUrl = options.databaseUrl ?? postgres!.url;

    const stacks: LocalStack[] = [];
    const layer = new AwsLayer(LOCAL_REGION, () => stacks);
    const logGroups = plan.resources.filter((r) => r.type === 'AWS::Logs::LogGroup').map((r) => localPhysicalName(r.logicalId));
    layer.serveLogs(new LogsApi(logStore, () => logGroups));
    const queueArnsByName = new Map<string, string>();
    const dlqSources = new DlqSourceTracker((queueUrl) => queueArnsByName.get(queueUrl.split('/').pop() ?? ''));
    // Lambda Invoke by the name DescribeStackResources gives locally (watchpoint-local-<id>), the id or the logical id.
    const lambdaApi = new LambdaApi((name) => hosts.get(name) ?? [...hosts.values()].find((host) => host.spec.name === name || `${prefix}-${host.spec.name}` === name), logStore);
    gateway.route({ fauxqs: fauxqsUrl, ses: ses.url, layer, dlqSources, lambda: (req, res) => lambdaApi.handle(req, res), accessKeyId: LOCAL_CREDENTIALS.accessKeyId });

    // The RunPod stand-in writes a run's Zarr chunks a few hundred PutObjects at once: with the SDK's
    // 50 sockets they queued, and the SDK printed a socket-capacity WARN into the platform's log.
    // Loopback sockets are cheap; a time budget keeps a stuck local server from hanging a poller.
    const clientConfig = () => ({
      region: LOCAL_REGION,
      endpoint: gateway.url,
      credentials: LOCAL_CREDENTIALS,
      // An idle socket is dropped well before the gateway closes it (a reused socket the server just
      // closed is an ECONNRESET); a reset that still happens is retried.
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 512, timeout: CLIENT_IDLE_SOCKET_MS }), connectionTimeout: 5_000, requestTimeout: 30_000 }),
    });
    const [{ SQSClient, CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand }, { S3Client, CreateBucketCommand }] = await Promise.all([import('@aws-sdk/client-sqs'), import('@aws-sdk/client-s3')]);
    const sqs = new SQSClient(clientConfig());
    const s3 = new S3Client({ ...clientConfig(), forcePathStyle: true });
    stops.push(() => {
      sqs.destroy();
      s3.destroy();
    });

    // --- resources from the template ------------------------------------------------------------
    const physical = new Map<string, PhysicalResource>();
    const queueUrls: Record<string, string> = {};
    const queueArns: Record<string, string> = {};
    const ordered = [...plan.queues].sort((a, b) => Number(Boolean(a.redrive)) - Number(Boolean(b.redrive)));
    for (const queue of ordered) {
      const attributes: Record<string, string> = { VisibilityTimeout: String(queue.visibilityTimeoutSeconds) };
      if (queue.redrive) {
        const target = queueArns[queue.redrive.deadLetterLogicalId];
        if (!target) throw new Error(`Queue ${queue.id} redrives to ${queue.redrive.deadLetterLogicalId}, which is not a queue of the template.`);
        attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: target, maxReceiveCount: queue.redrive.maxReceiveCount });
      }
      const created = await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${queue.id}`, Attributes: attributes }));
      const url = created.QueueUrl!;
      const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${prefix}-${queue.id}`;
      queueUrls[queue.logicalId] = url;
      queueArns[queue.logicalId] = arn;
      queueArnsByName.set(`${prefix}-${queue.id}`, arn);
      physical.set(queue.logicalId, { ref: url, arn });
    }
    const buckets: Record<string, string> = {};
    for (const bucket of plan.buckets) {
      const name = `${prefix}-${bucket.id}`.toLowerCase().slice(0, 63);
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      buckets[bucket.logicalId] = name;
      physical.set(bucket.logicalId, { ref: name, arn: `arn:aws:s3:::${name}` });
    }
    for (const fn of plan.functions) {
      const name = `${prefix}-${fn.id}`;
      physical.set(fn.logicalId, { ref: name, arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}` });
    }
    const apiId = 'local';
    for (const resource of plan.resources) {
      // An alarm's physical id is its name (AlarmName, as CloudFormation gives it).
      const alarmName = resource.type === 'AWS::CloudWatch::Alarm' ? templates.platform.Resources[resource.logicalId]?.Properties?.AlarmName : undefined;
      if (!physical.has(resource.logicalId)) physical.set(resource.logicalId, { ref: resource.type === 'AWS::ApiGatewayV2::Api' ? apiId : typeof alarmName === 'string' ? alarmName : localPhysicalName(resource.logicalId) });
    }
    const createdAt = new Date();
    const stackPseudo = { 'AWS::Region': LOCAL_REGION, 'AWS::AccountId': LOCAL_ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws', 'AWS::StackName': templates.platformName };
    const outputs = (template: Template, physicalIds: ReadonlyMap<string, PhysicalResource>): Record<string, string> => {
      const resolved: Record<string, string> = {};
      for (const [key, output] of Object.entries(template.Outputs ?? {})) {
        try {
          resolved[key] = resolveValue(output.Value, physicalIds, stackPseudo, `Output ${key}`);
        } catch {
          // An output of a resource with no local counterpart (a custom domain): left out, as CloudFormation would not have it either.
        }
      }
      return resolved;
    };
    const registryPhysical = new Map(Object.keys(templates.registry.Resources).map((id) => [id, { ref: `${id}-local`, arn: `arn:aws:ecr:${LOCAL_REGION}:${LOCAL_ACCOUNT}:repository/${id}-local` }]));
    stacks.push(
      { name: templates.platformName, resources: plan.resources.map((r) => ({ logicalId: r.logicalId, type: r.type, physicalId: physical.get(r.logicalId)!.ref })), outputs: outputs(templates.platform, physical), createdAt },
      { name: templates.registryName, resources: Object.entries(templates.registry.Resources).map(([logicalId, r]) => ({ logicalId, type: r.Type, physicalId: `${logicalId}-local` })), outputs: outputs(templates.registry, registryPhysical), createdAt },
    );
    mark('resources');

    // --- CloudWatch: the template's metric filters and alarms, evaluated over local data ----------
    const queueNameOf = (logicalId: string) => {
      const queue = plan.queues.find((q) => q.logicalId === logicalId);
      return queue ? `${prefix}-${queue.id}` : undefined;
    };
    const monitoring = readMonitoring(templates.platform, localPhysicalName, queueNameOf);
    const metrics = new MetricStore();
    stops.push(logStore.subscribe((event) => metricsOfLine(event, monitoring.filters, metrics)));
    const { SESv2Client, SendEmailCommand } = await import('@aws-sdk/client-sesv2');
    const sesClient = new SESv2Client(clientConfig());
    stops.push(() => sesClient.destroy());
    const evaluator = new AlarmEvaluator({
      monitoring,
      metrics,
      speed: options.speed,
      startedAt: createdAt,
      notify: async (alarm: AlarmDefinition, status: AlarmStatus, previous: AlarmState, emails: string[]) => {
        // The SNS email subscription's message, delivered to the local mail store.
        await sesClient.send(
          new SendEmailCommand({
            FromEmailAddress: 'no-reply@sns.amazonaws.com',
            Destination: { ToAddresses: emails },
            Content: { Simple: { Subject: { Data: `${status.state}: "${alarm.name}" in ${LOCAL_REGION} (watchpoint dev)` }, Body: { Text: { Data: alarmEmail(alarm, status, previous, options.speed) } } } },
          }),
        );
        options.log(`alarm ${alarm.name}: ${previous} -> ${status.state} (${status.reason}); notified ${emails.join(', ')}`);
      },
    });
    layer.serveAlarms(new CloudWatchApi(evaluator, metrics, (name) => `arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT}:alarm:${name}`));
    const sampledQueues = plan.queues.map((queue) => ({ name: `${prefix}-${queue.id}`, url: queueUrls[queue.logicalId]! }));
    // SQS publishes its queue metrics once a minute; locally once a compressed minute (at least every 250 ms).
    const tickMs = Math.max(250, 60_000 / options.speed);
    let ticking = false;
    const tick = async () => {
      if (ticking) return;
      ticking = true;
      try {
        await Promise.all(
          sampledQueues.map((queue) => sampleQueue(sqs, fauxqsUrl, queue, metrics)),
        );
        await Promise.all(evaluator.evaluate());
      } catch (error) {
        options.log(`alarm evaluation failed: ${(error as Error).message}`);
      } finally {
        ticking = false;
      }
    };
    const alarmTimer = setInterval(() => void tick(), tickMs);
    stops.push(() => clearInterval(alarmTimer));

    // --- secrets the handlers read from SSM, seeded as an operator would ------------------------
    const admin = generateApiKey();
    const runpodKey = randomBytes(24).toString('base64url');
    layer.putParameter(`/${LOCAL_ENV}/watchpoint/database/url`, databaseUrl);
    layer.putParameter(`/${LOCAL_ENV}/watchpoint/security/admin_api_key`, admin.key);
    layer.putParameter(`/${LOCAL_ENV}/watchpoint/forecast/runpod_api_key`, runpodKey);
    layer.putParameter(`/${LOCAL_ENV}/watchpoint/email/sender`, 'alerts@watchpoint.local', 'String');

    // The same code path as `watchpoint db migrate`; it runs while the functions load.
    const migrations = import('../cli/db/migrations.ts').then(({ applyMigrations }) =>
      applyMigrations(databaseUrl, { info: () => undefined, warn: (text) => options.log(`db migrate: ${text}`) }).then(() => mark('migrations')),
    );
    migrations.catch(() => undefined);

    const runpod = await startRunPodStandIn({ s3, apiKey: runpodKey, grid: options.grid ?? DEFAULT_GRID, delayMs: options.runPodDelayMs ?? 500, hotPoints: options.hotPoints ?? [] });
    stops.push(() => runpod.close());

    // --- functions ----------------------------------------------------------------------------
    const api = { url: '' };
    const pseudo = stackPseudo;
    const resolvedEnvironment = (fn: FunctionPlan): Record<string, string> => {
      const environment: Record<string, string> = {};
      for (const [name, value] of Object.entries(fn.environment)) environment[name] = resolveValue(value, physical, pseudo, `${fn.id} ${name}`);
      // The template's AWS endpoint is this run's gateway (it was synthesized with a placeholder).
      if (environment.AWS_ENDPOINT_URL === TEMPLATE_ENDPOINT) environment.AWS_ENDPOINT_URL = gateway.url;
      return environment;
    };
    const environments = new Map<string, Record<string, string>>();
    for (const fn of plan.functions) environments.set(fn.logicalId, resolvedEnvironment(fn));
    // The HTTP API server starts first (its URL is API_EXTERNAL_URL), answering once ApiFunction is up.
    const routes = plan.routes.filter((route) => route.payloadFormatVersion === '2.0');
    if (routes.length !== 1) throw new Error(`The template has ${routes.length} HTTP API v2 routes; the dev runtime serves exactly one (ANY /{proxy+}).`);
    const route = routes[0]!;
    const apiHostRef: { host?: FunctionHost } = {};
    const accessLog = stageAccessLog(templates.platform);
    const http = await startHttpApi({
      invoke: (event) => (apiHostRef.host ? apiHostRef.host.invoke(event) : Promise.reject(new Error('ApiFunction is starting'))),
      routeKey: route.routeKey,
      apiId,
      region: LOCAL_REGION,
      // The stage's access log line, in the template's own format, in the template's log group.
      ...(accessLog ? { accessLog: (context: Record<string, string>) => logStore.put(localPhysicalName(accessLog.logGroupLogicalId), `${apiId}_$default`, formatAccessLog(accessLog.format, context)) } : {}),
    });
    api.url = http.url;
    stops.push(() => http.close());

    const configuredEnvironment = (resolved: Record<string, string>): Record<string, string> => ({
        ...resolved,
        // Endpoints aside, exactly the template's variables, plus what the Lambda runtime provides.
        ...(resolved.API_EXTERNAL_URL === undefined ? {} : { API_EXTERNAL_URL: api.url }),
        ...(resolved.RUNPOD_API_BASE_URL === undefined ? {} : { RUNPOD_API_BASE_URL: runpod.baseUrl }),
        AWS_REGION: LOCAL_REGION,
        AWS_DEFAULT_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...(options.allowLoopbackWebhooks ? { WEBHOOK_ALLOW_INSECURE_TARGETS: 'loopback' } : {}),
        PATH: process.env.PATH ?? '',
        TZ: 'UTC',
      });
    for (const fn of plan.functions) hosts.get(fn.logicalId)!.configure(configuredEnvironment(environments.get(fn.logicalId)!));
    await migrations;
    // Set once the triggers run (below); applyPlan calls it for the queues, mappings and schedules that changed.
    const applyTriggerChanges: { apply?: (changes: PlanChanges, next: DevPlan) => Promise<string[]> } = {};
    // What runs, as a plan: a re-read stack (--watch) is compared with it, and only what changed is applied.
    let running = plan;
    const { diffPlans } = await import('./stack-watch.ts');
    const applyPlan = async (nextPlan: DevPlan): Promise<{ restarted: string[]; applied: string[]; needRestart: string[] }> => {
      const changes = diffPlans(running, nextPlan);
      const restarted: string[] = [];
      for (const logicalId of changes.functions) {
        const fn = nextPlan.functions.find((f) => f.logicalId === logicalId)!;
        const host = hosts.get(logicalId)!;
        try {
          host.spec.timeoutSeconds = fn.timeoutSeconds;
          host.spec.memoryMb = fn.memoryMb;
          host.spec.modulePath = join(SRC, 'lambdas', fn.handlerDir, 'index.ts');
          host.configure(configuredEnvironment(resolvedEnvironment(fn)));
          await host.reload();
          restarted.push(fn.id);
        } catch (error) {
          options.log(`watch: ${fn.id} keeps its previous settings: ${(error as Error).message}`);
        }
      }
      const applied = (await applyTriggerChanges.apply?.(changes, nextPlan)) ?? [];
      // What was not applied stays as it was in the running plan, so the next change is compared with what runs.
      running = {
        ...running,
        functions: running.functions.map((fn) => (restarted.includes(fn.id) ? nextPlan.functions.find((f) => f.logicalId === fn.logicalId)! : fn)),
        queues: running.queues.map((queue) => (applied.includes(`queue ${queue.id}`) ? nextPlan.queues.find((q) => q.logicalId === queue.logicalId)! : queue)),
        eventSources: running.eventSources.map((mapping) => (applied.includes(`event source mapping ${mapping.logicalId}`) ? nextPlan.eventSources.find((m) => m.logicalId === mapping.logicalId)! : mapping)),
        schedules: running.schedules.map((schedule) => (applied.some((item) => item === `schedule ${schedule.logicalId}` || item.startsWith(`schedule ${schedule.logicalId} (`)) ? nextPlan.schedules.find((sc) => sc.logicalId === schedule.logicalId)! : schedule)),
      };
      const done = [...(restarted.length > 0 ? [`${restarted.join(', ')} restarted with the new settings`] : []), ...(applied.length > 0 ? [`${applied.join(', ')} updated in place`] : [])];
      options.log(
        `watch: stack re-read: ${done.length > 0 ? done.join('; ') : 'nothing that runs changed'}; queues, buckets and their data untouched` +
          (changes.needRestart.length > 0 ? `. Not applied while running (restart \`watchpoint dev\` for them): ${changes.needRestart.join('; ')}.` : '.'),
      );
      const result = { restarted, applied, needRestart: changes.needRestart };
      options.onStackReload?.(result);
      return result;
    };
    if (options.watch) {
      // --watch: saved handler code reaches fresh containers; the servers and their data stay (watch.ts).
      const { startHandlerWatch } = await import('./watch.ts');
      const { synthLocalInChild } = await import('./stack-watch.ts');
      // A change under src/stack or src/config: the new template from a fresh process, then only what changed.
      const onStackChange = async (): Promise<void> => {
        const next = await synthLocalInChild(dirname(SRC));
        if ('error' in next) return options.log(`watch: the stack does not synthesize; everything keeps running as it was:\n${next.error}`);
        let nextPlan: DevPlan;
        try {
          nextPlan = readPlan(next.platform);
        } catch (error) {
          return options.log(`watch: the new template cannot run locally (${(error as Error).message}); everything keeps running as it was.`);
        }
        await applyPlan(nextPlan);
      };
      const handlerWatch = startHandlerWatch({ root: dirname(SRC), functions: plan.functions.map((fn) => ({ host: hosts.get(fn.logicalId)!, handlerDir: fn.handlerDir })), log: options.log, onStackChange, ...(options.onReload ? { onReload: options.onReload } : {}) });
      stops.push(() => handlerWatch.close());
      await handlerWatch.ready;
      mark('watch');
    }
    apiHostRef.host = hosts.get(route.functionLogicalId);
    mark('functions');

    // --- triggers -------------------------------------------------------------------------------
    const onOutcome = (outcome: Outcome) => {
      if (!outcome.ok) options.log(`${outcome.function.padEnd(20)} invocation from ${outcome.trigger} failed${outcome.failed ? ` (${outcome.failed} record(s) left for retry)` : ''}${outcome.error ? `: ${outcome.error}` : ''}`);
      options.onOutcome?.(outcome);
    };
    const triggers: Trigger[] = [];
    // Event source mappings and schedules by logical id: `--watch` restarts one whose settings changed.
    const mappingTriggers = new Map<string, Trigger>();
    const scheduleTriggers = new Map<string, Trigger>();
    stops.push(async () => {
      await Promise.all([...triggers, ...mappingTriggers.values(), ...scheduleTriggers.values()].map((t) => t.stop()));
    });
    const startMapping = (mapping: DevPlan['eventSources'][number], queue: DevPlan['queues'][number]): Trigger =>
      startSqsMapping({
        sqs,
        host: hosts.get(mapping.functionLogicalId)!,
        queueUrl: queueUrls[queue.logicalId]!,
        queueArn: queueArns[queue.logicalId]!,
        queueName: `${prefix}-${queue.id}`,
        region: LOCAL_REGION,
        batchSize: mapping.batchSize,
        reportBatchItemFailures: mapping.reportBatchItemFailures,
        visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
        speed: options.speed,
        onOutcome,
        pollers: hosts.get(mapping.functionLogicalId)!.spec.concurrency,
      });
    for (const mapping of plan.eventSources) {
      mappingTriggers.set(mapping.logicalId, startMapping(mapping, plan.queues.find((q) => q.logicalId === mapping.queueLogicalId)!));
    }
    const byBucket = new Map<string, DevPlan['notifications']>();
    for (const n of plan.notifications) byBucket.set(n.bucketLogicalId, [...(byBucket.get(n.bucketLogicalId) ?? []), n]);
    for (const [bucketLogicalId, notifications] of byBucket) {
      triggers.push(
        startBucketWatch({
          s3,
          bucket: buckets[bucketLogicalId]!,
          region: LOCAL_REGION,
          targets: notifications
            .filter((n) => n.events.some((e) => e.startsWith('s3:ObjectCreated')))
            .map((n) => ({ host: hosts.get(n.functionLogicalId)!, ...(n.prefix ? { prefix: n.prefix } : {}), ...(n.suffix ? { suffix: n.suffix } : {}) })),
          intervalMs: 250,
          onOutcome,
        }),
      );
    }
    const pollers = plan.schedules.filter((s) => plan.functions.find((f) => f.logicalId === s.functionLogicalId)?.handlerDir === 'data-poller');
    /** false (and said in the log) when the expression is not one the dev runtime runs. */
    const startScheduleOf = (schedule: DevPlan['schedules'][number], runAtStart: boolean): boolean => {
      const started = startSchedule({
        host: hosts.get(schedule.functionLogicalId)!,
        name: schedule.logicalId,
        expression: schedule.expression,
        input: schedule.input,
        speed: options.speed,
        runAtStart,
        onOutcome,
      });
      if (started) scheduleTriggers.set(schedule.logicalId, started);
      else options.log(`schedule ${schedule.logicalId} (${schedule.expression}) is not run locally: only rate() and daily cron(M H * * ? *) are.`);
      return started !== undefined;
    };
    for (const schedule of plan.schedules) {
      if (options.pollerSchedule === false && pollers.includes(schedule)) continue;
      startScheduleOf(schedule, (options.runSchedulesAtStart ?? true) && pollers.includes(schedule));
    }

    // --watch: a queue, mapping or schedule whose settings changed, applied in place (stack-watch.ts).
    applyTriggerChanges.apply = async (changes, next) => {
      const applied: string[] = [];
      const restartMappings = new Set(changes.eventSources);
      for (const logicalId of changes.queues) {
        const queue = next.queues.find((q) => q.logicalId === logicalId)!;
        const target = queue.redrive ? queueArns[queue.redrive.deadLetterLogicalId] : undefined;
        try {
          if (queue.redrive && !target) throw new Error(`its dead-letter queue ${queue.redrive.deadLetterLogicalId} is not running (a new queue needs a restart)`);
          await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrls[logicalId]!, Attributes: { VisibilityTimeout: String(queue.visibilityTimeoutSeconds), RedrivePolicy: target ? JSON.stringify({ deadLetterTargetArn: target, maxReceiveCount: queue.redrive!.maxReceiveCount }) : '' } }));
          applied.push(`queue ${queue.id}`);
          for (const mapping of next.eventSources) if (mapping.queueLogicalId === logicalId) restartMappings.add(mapping.logicalId);
        } catch (error) {
          options.log(`watch: queue ${queue.id} keeps its previous settings: ${(error as Error).message}`);
        }
      }
      for (const logicalId of restartMappings) {
        const mapping = next.eventSources.find((m) => m.logicalId === logicalId);
        const queue = mapping && next.queues.find((q) => q.logicalId === mapping.queueLogicalId);
        if (!mapping || !queue || !hosts.has(mapping.functionLogicalId)) continue;
        // Stopping waits for the batch in hand; a batch received and not yet handled comes back after its visibility timeout.
        await mappingTriggers.get(logicalId)?.stop();
        mappingTriggers.set(logicalId, startMapping(mapping, queue));
        applied.push(`event source mapping ${logicalId}`);
      }
      for (const logicalId of changes.schedules) {
        const schedule = next.schedules.find((candidate) => candidate.logicalId === logicalId)!;
        await scheduleTriggers.get(logicalId)?.stop();
        scheduleTriggers.delete(logicalId);
        // Applied either way: the old schedule stopped; a new expression the dev runtime cannot run is said in the log.
        applied.push(startScheduleOf(schedule, false) ? `schedule ${logicalId}` : `schedule ${logicalId} (stopped: its new expression does not run locally)`);
      }
      return applied;
    };
    mark('ready');

    const state: DevState = {
      pid: process.pid,
      cwd: options.cwd,
      startedAt: new Date().toISOString(),
      region: LOCAL_REGION,
      endpoint: gateway.url,
      api: api.url,
      mail: `${ses.url}/`,
      webhooks: receiver.url,
      runpod: runpod.baseUrl,
      stacks: [templates.registryName, templates.platformName],
      credentials: LOCAL_CREDENTIALS,
    };
    writeFileSync(join(options.cwd, STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });
    const poller = pollers[0] ? hosts.get(pollers[0].functionLogicalId) : undefined;
    return {
      state,
      adminKey: admin.key,
      plan,
      queueUrls,
      buckets,
      hosts,
      receiver,
      runpod,
      cycles,
      logStore,
      alarms: evaluator,
      databaseUrl,
      postgresPid: postgres?.pid,
      crashed: Promise.race(crashes.length > 0 ? crashes : [new Promise<never>(() => undefined)]),
      pollNow: () => (poller ? poller.invoke({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }) : Promise.reject(new Error('The template has no DataPoller schedule.'))),
      applyPlan,
      stop,
      timings,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
