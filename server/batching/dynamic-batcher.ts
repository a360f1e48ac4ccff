import { performance } from "node:perf_hooks";
import { ServingError } from "../errors/registry.js";

const MAX_TIMER_MS = 2 ** 31 - 1;
/** After an interactive input, background work runs in its shared mode this long. */
const INTERACTIVE_RESERVE_MS = 1_000;
/** A background batch leaves when full, or when its oldest input has waited this long. */
const BACKGROUND_FILL_MS = 20;
/** Sharing with interactive traffic, background batches are this share of `maxBatchSize` and run this share of one worker's time. */
const SHARED_BATCH_SHARE = 1 / 8;
const SHARED_DUTY = 1 / 8;

export interface BatcherSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Inputs that may wait at once. */
  maxQueueSize: number;
  /** Batches that may run at once (the number of workers). */
  concurrency: number;
}

export interface BatchOutcome<O> {
  outputs: O[];
  /** Time the batch spent in the backend (tokenize + inference). */
  computeMs: number;
}

/** An input's relative cost (for text, its length): bounds what one background batch may cost beside interactive work. */
export type InputWeight<I> = (input: I) => number;

export interface BatchObserver {
  onBatch?(size: number, queueWaitsMs: number[]): void;
  onBatchDone?(size: number, computeMs: number): void;
  onQueueDepth?(depth: number): void;
}

export interface SubmitOptions {
  /** Absolute time (performance.now() clock) after which the request fails with ERR_DEADLINE_EXCEEDED. */
  deadline: number;
  signal?: AbortSignal;
  /**
   * `interactive` (default): a caller waits. `background` (batch jobs): dispatched only while no interactive input
   * waits. Alone, in full batches on every worker; while interactive traffic is recent (shared mode), one small batch at
   * a time on at most an eighth of one worker's time, so that interactive latency barely moves.
   */
  priority?: Priority;
}

export type Priority = "interactive" | "background";

export interface SubmitResult<O> {
  outputs: O[];
  /** Longest time one of the request's inputs waited in the queue. */
  queueMs: number;
  /** Longest compute time among the batches that served the request. */
  computeMs: number;
}

interface PendingRequest<O, I = unknown> {
  lane: Lane<O, I>;
  outputs: Array<O | undefined>;
  remaining: number;
  /** Inputs still in the queue (not yet handed to a batch). */
  queued: number;
  done: boolean;
  queueMs: number;
  computeMs: number;
  resolve(result: SubmitResult<O>): void;
  reject(error: unknown): void;
  cleanup(): void;
}

interface QueuedItem<I, O> {
  input: I;
  index: number;
  request: PendingRequest<O, I>;
  enqueuedAt: number;
}

/** One priority's FIFO of inputs, with what it has queued and running. */
interface Lane<O, I = unknown> {
  queue: Array<QueuedItem<I, O> | undefined>;
  head: number;
  queued: number;
  inFlight: number;
}

const newLane = <O, I>(): Lane<O, I> => ({ queue: [], head: 0, queued: 0, inFlight: 0 });

/**
 * Triton-style dynamic batcher for one model version. Inputs wait in one FIFO; a batch leaves when it is full or
 * its oldest input has waited `maxQueueDelayMs`, and only while a worker is free, so under load batches grow by
 * themselves. A request's inputs may be spread over several batches and are put back in order.
 */
export class DynamicBatcher<I, O> {
  private readonly interactive: Lane<O, I> = newLane();
  private readonly background: Lane<O, I> = newLane();
  private inFlight = 0;
  private lastInteractiveAt = -Infinity;
  /** In shared mode, no background batch starts before this time (its duty cycle). */
  private backgroundResumeAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private closed = false;
  private flushing = false;
  private idleWaiters: Array<() => void> = [];
  /** Smoothed batch compute time, for Retry-After hints. */
  private averageBatchMs = 10;
  /** Smoothed weight of an interactive input: a shared background batch weighs at most its share of a batch of those. */
  private interactiveWeight: number | undefined;

  constructor(
    private readonly settings: BatcherSettings,
    private readonly runBatch: (inputs: I[]) => Promise<BatchOutcome<O>>,
    private readonly observer: BatchObserver = {},
    private readonly weigh?: InputWeight<I>,
  ) {}

  /** Inputs waiting, both priorities. */
  get depth(): number {
    return this.interactive.queued + this.background.queued;
  }

  get running(): number {
    return this.inFlight;
  }

  submit(inputs: I[], options: SubmitOptions): Promise<SubmitResult<O>> {
    if (this.closed) return Promise.reject(new ServingError("ERR_SHUTTING_DOWN"));
    if (inputs.length === 0) return Promise.resolve({ outputs: [], queueMs: 0, computeMs: 0 });
    const lane = options.priority === "background" ? this.background : this.interactive;
    if (lane.queued + inputs.length > this.settings.maxQueueSize) {
      return Promise.reject(
        new ServingError("ERR_QUEUE_FULL", `the queue holds ${lane.queued} of at most ${this.settings.maxQueueSize} inputs; retry later`, {
          retryAfter: this.retryAfterSeconds(),
        }),
      );
    }
    if (options.signal?.aborted) return Promise.reject(new ServingError("ERR_CLIENT_CLOSED"));
    const now = performance.now();
    if (options.deadline <= now) return Promise.reject(new ServingError("ERR_DEADLINE_EXCEEDED", "the request's deadline passed before it was queued"));

    return new Promise<SubmitResult<O>>((resolve, reject) => {
      const fail = (error: ServingError) => {
        if (request.done) return;
        this.finish(request);
        reject(error);
      };
      const onAbort = () => fail(new ServingError("ERR_CLIENT_CLOSED"));
      // setTimeout fires at once for delays past 2^31-1 ms (Infinity included), so a far deadline gets no timer.
      const wait = options.deadline - now;
      const deadlineTimer =
        wait < MAX_TIMER_MS
          ? setTimeout(() => fail(new ServingError("ERR_DEADLINE_EXCEEDED", `no answer within the request's deadline (${Math.round(wait)} ms)`)), wait)
          : undefined;
      const request: PendingRequest<O, I> = {
        lane,
        outputs: new Array<O | undefined>(inputs.length),
        remaining: inputs.length,
        queued: inputs.length,
        done: false,
        queueMs: 0,
        computeMs: 0,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(deadlineTimer);
          options.signal?.removeEventListener("abort", onAbort);
        },
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      inputs.forEach((input, index) => lane.queue.push({ input, index, request, enqueuedAt: now }));
      lane.queued += inputs.length;
      if (lane === this.interactive) {
        this.lastInteractiveAt = now;
        if (this.weigh) for (const input of inputs) this.interactiveWeight = 0.95 * (this.interactiveWeight ?? this.weigh(input)) + 0.05 * this.weigh(input);
      }
      this.observer.onQueueDepth?.(this.depth);
      this.pump();
    });
  }

  /** Stops accepting requests and sends what is queued without waiting for fuller batches; resolves when idle. */
  async drain(): Promise<void> {
    this.closed = true;
    this.flushing = true;
    this.pump();
    if (this.depth === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** A request that fails or is cancelled gives its queued inputs back; they are skipped when batches form. */
  private finish(request: PendingRequest<O, I>): void {
    request.done = true;
    request.cleanup();
    request.lane.queued -= request.queued;
    request.queued = 0;
    this.observer.onQueueDepth?.(this.depth);
    this.compact(request.lane);
    this.notifyIdle();
  }

  private peekLive(lane: Lane<O, I>): QueuedItem<I, O> | undefined {
    while (lane.head < lane.queue.length) {
      const item = lane.queue[lane.head];
      if (item && !item.request.done) return item;
      lane.queue[lane.head++] = undefined;
    }
    return undefined;
  }

  private compact(lane: Lane<O, I>): void {
    if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
      lane.queue.splice(0, lane.head);
      lane.head = 0;
    }
  }

  private pump(): void {
    while (this.inFlight < this.settings.concurrency) {
      const now = performance.now();
      const oldest = this.peekLive(this.interactive);
      if (oldest) {
        const dueAt = oldest.enqueuedAt + this.settings.maxQueueDelayMs;
        if (this.interactive.queued < this.settings.maxBatchSize && now < dueAt && !this.flushing) {
          this.schedule(dueAt - now);
          break;
        }
        this.dispatch(this.interactive, now);
        continue;
      }
      // Background work only when no interactive input waits.
      const oldestBackground = this.peekLive(this.background);
      if (!oldestBackground) break;
      const reserveEnds = this.lastInteractiveAt + INTERACTIVE_RESERVE_MS;
      const shared = now < reserveEnds && !this.flushing;
      if (this.background.inFlight >= (shared ? 1 : this.settings.concurrency)) {
        if (shared) this.schedule(reserveEnds - now);
        break;
      }
      if (shared && now < this.backgroundResumeAt) {
        this.schedule(this.backgroundResumeAt - now);
        break;
      }
      const size = shared ? Math.max(1, Math.ceil(this.settings.maxBatchSize * SHARED_BATCH_SHARE)) : this.settings.maxBatchSize;
      const fillDue = oldestBackground.enqueuedAt + BACKGROUND_FILL_MS;
      if (this.background.queued < size && now < fillDue && !this.flushing) {
        this.schedule(fillDue - now);
        break;
      }
      // Batch jobs send their inputs sorted by length: a shared batch of the longest ones would hold a worker many
      // times longer than one of interactive inputs. Its weight is capped like its size.
      const weightCap = shared && this.weigh && this.interactiveWeight !== undefined ? size * this.interactiveWeight : Infinity;
      this.dispatch(this.background, now, size, weightCap);
    }
    this.compact(this.interactive);
    this.compact(this.background);
  }

  private schedule(delayMs: number): void {
    const dueAt = performance.now() + delayMs;
    if (this.timer && this.timerDueAt <= dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueAt = Infinity;
      this.pump();
    }, Math.max(0, Math.ceil(delayMs)));
  }

  private dispatch(lane: Lane<O, I>, now: number, size = this.settings.maxBatchSize, weightCap = Infinity): void {
    const batch: Array<QueuedItem<I, O>> = [];
    let weight = 0;
    while (batch.length < size) {
      const item = this.peekLive(lane);
      if (!item) break;
      if (weightCap !== Infinity) {
        weight += this.weigh!(item.input);
        if (batch.length > 0 && weight > weightCap) break;
      }
      lane.queue[lane.head++] = undefined;
      item.request.queued--;
      item.request.queueMs = Math.max(item.request.queueMs, now - item.enqueuedAt);
      batch.push(item);
    }
    lane.queued -= batch.length;
    lane.inFlight++;
    this.inFlight++;
    this.observer.onQueueDepth?.(this.depth);
    this.observer.onBatch?.(batch.length, batch.map((item) => now - item.enqueuedAt));
    this.runBatch(batch.map((item) => item.input)).then(
      (outcome) => this.complete(lane, batch, outcome),
      (error: unknown) => this.fail(lane, batch, error),
    );
  }

  private complete(lane: Lane<O, I>, batch: Array<QueuedItem<I, O>>, outcome: BatchOutcome<O>): void {
    this.averageBatchMs = 0.8 * this.averageBatchMs + 0.2 * outcome.computeMs;
    // Idle for long enough after a background batch that, sharing, background work takes at most SHARED_DUTY of a worker.
    if (lane === this.background) this.backgroundResumeAt = performance.now() + (outcome.computeMs * (1 - SHARED_DUTY)) / SHARED_DUTY;
    this.observer.onBatchDone?.(batch.length, outcome.computeMs);
    if (outcome.outputs.length !== batch.length) {
      this.fail(lane, batch, new ServingError("ERR_INTERNAL", `backend returned ${outcome.outputs.length} outputs for a batch of ${batch.length}`));
      return;
    }
    batch.forEach((item, i) => {
      const request = item.request;
      if (request.done) return;
      request.outputs[item.index] = outcome.outputs[i];
      request.computeMs = Math.max(request.computeMs, outcome.computeMs);
      if (--request.remaining === 0) {
        this.finish(request);
        request.resolve({ outputs: request.outputs as O[], queueMs: request.queueMs, computeMs: request.computeMs });
      }
    });
    this.batchEnded(lane);
  }

  private fail(lane: Lane<O, I>, batch: Array<QueuedItem<I, O>>, error: unknown): void {
    const reason = error instanceof ServingError ? error : new ServingError("ERR_INTERNAL", (error as Error)?.message ?? String(error), { cause: error });
    for (const item of new Set(batch.map((b) => b.request))) {
      if (item.done) continue;
      this.finish(item);
      item.reject(reason);
    }
    this.batchEnded(lane);
  }

  private batchEnded(lane: Lane<O, I>): void {
    lane.inFlight--;
    this.inFlight--;
    this.pump();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.depth !== 0 || this.inFlight !== 0 || this.idleWaiters.length === 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private retryAfterSeconds(): number {
    const batchesAhead = this.interactive.queued / this.settings.maxBatchSize / this.settings.concurrency;
    return Math.max(1, Math.ceil((batchesAhead * this.averageBatchMs) / 1000));
  }
}
