// Drift detection with CloudFormation itself: DetectStackDrift on each stack, then
// DescribeStackDriftDetectionStatus until it is done (with a deadline), then
// DescribeStackResourceDrifts for the resources that were changed or deleted, property by property,
// and those CloudFormation could not check (UNKNOWN, with its DriftStatusReason: "CloudFormation
// could not run drift detection for the resource", StackResourceDrift in the CloudFormation API
// reference). An UNKNOWN resource is not drift; it is shown as "could not check" with the reason.
// toolkit-lib's drift action would first synthesize the app (seconds of CPU and bundling) to learn
// what CloudFormation already knows about the deployed stacks, so it is not used here.
import type { CloudFormationClient, StackResourceDrift } from '@aws-sdk/client-cloudformation';
import { WatchpointError } from '../errors.ts';
import { explainAwsError } from '../stack-resources.ts';
import { abortableSleep } from '../../sleep.ts';

export interface PropertyChange {
  path: string;
  /** ADD | REMOVE | NOT_EQUAL */
  change: string;
  expected: string | undefined;
  actual: string | undefined;
}

export interface DriftedResource {
  logicalId: string;
  physicalId: string | undefined;
  type: string;
  /** MODIFIED | DELETED, or UNKNOWN: CloudFormation could not check it (see `reason`). */
  status: string;
  properties: PropertyChange[];
  /** CloudFormation's DriftStatusReason (given for UNKNOWN). */
  reason?: string;
}

export interface StackDrift {
  stackName: string;
  /** IN_SYNC | DRIFTED | UNKNOWN (detection failed before it could tell). */
  status: string;
  /** COMPLETE | FAILED | TIMED_OUT */
  detection: 'COMPLETE' | 'FAILED' | 'TIMED_OUT';
  detectionId: string;
  /** Why detection failed (CloudFormation's DetectionStatusReason). */
  reason: string | undefined;
  driftedCount: number;
  /** The MODIFIED and DELETED resources. */
  resources: DriftedResource[];
  /** The resources CloudFormation could not check (UNKNOWN); not counted as drift. */
  unchecked: DriftedResource[];
  checkedAt: Date | undefined;
}

export interface DetectOptions {
  envName: string;
  timeoutMs: number;
  pollMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms; tests move it with their sleep. */
  now?: () => number;
  onProgress?: (text: string) => void;
  abortSignal?: AbortSignal;
}

export async function detectDrift(cloudformation: CloudFormationClient, stackName: string, options: DetectOptions): Promise<StackDrift> {
  const { DetectStackDriftCommand, DescribeStackDriftDetectionStatusCommand, DescribeStackResourceDriftsCommand } = await import('@aws-sdk/client-cloudformation');
  const sleep = options.sleep ?? abortableSleep;
  const send = { abortSignal: options.abortSignal };
  const now = options.now ?? Date.now;
  try {
    const { StackDriftDetectionId: detectionId } = await cloudformation.send(new DetectStackDriftCommand({ StackName: stackName }), send);
    if (!detectionId) throw new Error(`DetectStackDrift returned no detection id for ${stackName}`);
    const deadline = now() + options.timeoutMs;
    for (;;) {
      const status = await cloudformation.send(new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: detectionId }), send);
      if (status.DetectionStatus === 'DETECTION_IN_PROGRESS') {
        if (now() >= deadline) {
          return { stackName, status: 'UNKNOWN', detection: 'TIMED_OUT', detectionId, reason: undefined, driftedCount: 0, resources: [], unchecked: [], checkedAt: undefined };
        }
        options.onProgress?.(`Waiting on CloudFormation drift detection for ${stackName}...`);
        await sleep(options.pollMs);
        continue;
      }
      // A failed detection can still have checked most resources: show what it found.
      const checked = await driftedResources(cloudformation, stackName, send, DescribeStackResourceDriftsCommand);
      const resources = checked.filter((r) => r.status !== 'UNKNOWN');
      const unchecked = checked.filter((r) => r.status === 'UNKNOWN');
      return {
        stackName,
        status: status.StackDriftStatus ?? 'UNKNOWN',
        detection: status.DetectionStatus === 'DETECTION_COMPLETE' ? 'COMPLETE' : 'FAILED',
        detectionId,
        reason: status.DetectionStatusReason,
        driftedCount: status.DriftedStackResourceCount ?? resources.length,
        resources,
        unchecked,
        checkedAt: status.Timestamp,
      };
    }
  } catch (error) {
    if (error instanceof WatchpointError) throw error;
    throw explainAwsError(error, { stackName, envName: options.envName });
  }
}

async function driftedResources(
  cloudformation: CloudFormationClient,
  stackName: string,
  send: { abortSignal: AbortSignal | undefined },
  Command: typeof import('@aws-sdk/client-cloudformation').DescribeStackResourceDriftsCommand,
): Promise<DriftedResource[]> {
  const drifts: StackResourceDrift[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cloudformation.send(
      new Command({ StackName: stackName, StackResourceDriftStatusFilters: ['MODIFIED', 'DELETED', 'UNKNOWN'], ...(nextToken ? { NextToken: nextToken } : {}) }),
      send,
    );
    drifts.push(...(page.StackResourceDrifts ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return drifts
    .map((drift) => ({
      logicalId: drift.LogicalResourceId ?? '',
      physicalId: drift.PhysicalResourceId,
      type: drift.ResourceType ?? '',
      status: drift.StackResourceDriftStatus ?? '',
      properties: (drift.PropertyDifferences ?? []).map((p) => ({ path: p.PropertyPath ?? '', change: p.DifferenceType ?? '', expected: p.ExpectedValue, actual: p.ActualValue })),
      ...(drift.DriftStatusReason ? { reason: drift.DriftStatusReason } : {}),
    }))
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}
