// The dev platform's CloudWatch Logs: every function's lines as Lambda writes them to its log group
// (the template's log groups; one stream per container, named as Lambda names them; START, END and
// REPORT lines; "Task timed out"), kept in memory. Bounded: the oldest events go first once
// LOG_STORE_CAPACITY are held, so a long `watchpoint dev` run does not grow without limit.
import { randomBytes } from 'node:crypto';

/** Events kept over all log groups (about 25 MB of typical Powertools lines). */
export const LOG_STORE_CAPACITY = 50_000;

export interface StoredEvent {
  /** Arrival order over the whole store: the event id and the page cursor. */
  seq: number;
  logGroupName: string;
  logStreamName: string;
  /** Epoch ms. */
  timestamp: number;
  ingestionTime: number;
  message: string;
}

export class LogStore {
  private events: StoredEvent[] = [];
  private nextSeq = 1;
  /** Events evicted to stay within the capacity. */
  dropped = 0;
  readonly capacity: number;
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(capacity = LOG_STORE_CAPACITY) {
    this.capacity = capacity;
  }

  put(logGroupName: string, logStreamName: string, message: string, timestamp = Date.now()): StoredEvent {
    const event: StoredEvent = { seq: this.nextSeq++, logGroupName, logStreamName, timestamp, ingestionTime: Date.now(), message };
    this.events.push(event);
    // Evicting in chunks keeps put() O(1) amortized.
    if (this.events.length > this.capacity + Math.ceil(this.capacity / 10)) {
      const excess = this.events.length - this.capacity;
      this.events = this.events.slice(excess);
      this.dropped += excess;
    }
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Called for every new event (the metric filters). */
  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events of these groups, in arrival order, from a cursor on. */
  *scan(groups: ReadonlySet<string>, fromSeq = 0): Generator<StoredEvent> {
    const live = this.events;
    const first = live.length === 0 ? 0 : Math.max(0, fromSeq - live[0]!.seq);
    for (let i = first; i < live.length; i += 1) {
      const event = live[i]!;
      if (groups.has(event.logGroupName)) yield event;
    }
  }

  get size(): number {
    return Math.min(this.events.length, this.capacity);
  }
}

/** `2026/12/06/[$LATEST]<32 hex>`: Lambda's stream name for one container. */
export function lambdaStreamName(now = new Date()): string {
  return `${now.toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomBytes(16).toString('hex')}`;
}
