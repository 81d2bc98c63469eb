// The eval worker's Lambda handler: an SQS batch (1 on the urgent queue, up to 10 on the standard
// one) where each record is one eval job, reported as partial batch failures.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidMessageError } from '../shared/messages.ts';
import { correlationIds, errorFields } from '../shared/observability.ts';
import { processRecord, type EvalWorkerDeps } from './worker.ts';

export function createEvalWorkerHandler(deps: () => EvalWorkerDeps): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event, context) => {
    const resolved = deps();
    const handleRecord = async (record: SQSRecord): Promise<void> => {
      try {
        await processRecord(record, resolved);
      } catch (error) {
        // Logged here with the message id (never the body); rethrown so only this record fails.
        const level = error instanceof InvalidMessageError ? 'warn' : 'error';
        resolved.logger[level]('Eval job failed', {
          event: 'EvalJobFailed',
          ...correlationIds(record.body),
          message_id: record.messageId,
          receive_count: record.attributes?.ApproximateReceiveCount,
          ...errorFields(error),
        });
        throw error;
      }
    };
    try {
      return await processPartialResponse(event, handleRecord, processor, {
        ...(context ? { context } : {}),
        throwOnFullBatchFailure: false,
      });
    } finally {
      if (resolved.metrics?.hasStoredMetrics()) resolved.metrics.publishStoredMetrics();
    }
  };
}
