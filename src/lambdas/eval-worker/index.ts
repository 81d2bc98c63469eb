import { notImplemented } from '../shared/not-implemented.ts';

export const handler = notImplemented('eval-worker');
