import { performance } from "node:perf_hooks";
import { ServingError } from "../errors/registry.js";

const MAX_TIMER_MS = 2 ** 31 - 1;

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

export interface BatchObserver {
  onBatch?(size: number, queueWaitsMs: number[]): void;
  onBatchDone?(size: number, computeMs: number): void;
  onQueueDepth?(depth: number): void;
}

export interface SubmitOptions {
  /** Absolute time (performance.now() clock) after which the request fails with ERR_DEADLINE_EXCEEDED. */
  deadline: number;
  signal?: AbortSignal;
}

export interface SubmitResult<O> {
  outputs: O[];
  /** Longest time one of the request's inputs waited in the queue. */
  queueMs: number;
  /** Longest compute time among the batches that served the request. */
  computeMs: number;
}

interface PendingRequest<O> {
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
  request: PendingRequest<O>;
  enqueuedAt: number;
}

/**
 * Triton-style dynamic batcher for one model version. Inputs wait in one FIFO; a batch leaves when it is full or
 * its oldest input has waited `maxQueueDelayMs`, and only while a worker is free, so under load batches grow by
 * themselves. A request's inputs may be spread over several batches and are put back in order.
 */
export class DynamicBatcher<I, O> {
  private readonly queue: Array<QueuedItem<I, O> | undefined> = [];
  private head = 0;
  private queuedInputs = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private closed = false;
  private flushing = false;
  private idleWaiters: Array<() => void> = [];
  /** Smoothed batch compute time, for Retry-After hints. */
  private averageBatchMs = 10;

  constructor(
    private readonly settings: BatcherSettings,
    private readonly runBatch: (inputs: I[]) => Promise<BatchOutcome<O>>,
    private readonly observer: BatchObserver = {},
  ) {}

  get depth(): number {
    return this.queuedInputs;
  }

  get running(): number {
    return this.inFlight;
  }

  submit(inputs: I[], options: SubmitOptions): Promise<SubmitResult<O>> {
    if (this.closed) return Promise.reject(new ServingError("ERR_SHUTTING_DOWN"));
    if (inputs.length === 0) return Promise.resolve({ outputs: [], queueMs: 0, computeMs: 0 });
    if (this.queuedInputs + inputs.length > this.settings.maxQueueSize) {
      return Promise.reject(
        new ServingError("ERR_QUEUE_FULL", `the queue holds ${this.queuedInputs} of at most ${this.settings.maxQueueSize} inputs; retry later`, {
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
      const request: PendingRequest<O> = {
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
      inputs.forEach((input, index) => this.queue.push({ input, index, request, enqueuedAt: now }));
      this.queuedInputs += inputs.length;
      this.observer.onQueueDepth?.(this.queuedInputs);
      this.pump();
    });
  }

  /** Stops accepting requests and sends what is queued without waiting for fuller batches; resolves when idle. */
  async drain(): Promise<void> {
    this.closed = true;
    this.flushing = true;
    this.pump();
    if (this.queuedInputs === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** A request that fails or is cancelled gives its queued inputs back; they are skipped when batches form. */
  private finish(request: PendingRequest<unknown>): void {
    request.done = true;
    request.cleanup();
    this.queuedInputs -= request.queued;
    request.queued = 0;
    this.observer.onQueueDepth?.(this.queuedInputs);
    this.compact();
    this.notifyIdle();
  }

  private peekLive(): QueuedItem<I, O> | undefined {
    while (this.head < this.queue.length) {
      const item = this.queue[this.head];
      if (item && !item.request.done) return item;
      this.queue[this.head++] = undefined;
    }
    return undefined;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private pump(): void {
    while (this.inFlight < this.settings.concurrency) {
      const oldest = this.peekLive();
      if (!oldest) break;
      const now = performance.now();
      const dueAt = oldest.enqueuedAt + this.settings.maxQueueDelayMs;
      if (this.queuedInputs < this.settings.maxBatchSize && now < dueAt && !this.flushing) {
        this.schedule(dueAt - now);
        break;
      }
      this.dispatch(now);
    }
    this.compact();
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

  private dispatch(now: number): void {
    const batch: Array<QueuedItem<I, O>> = [];
    while (batch.length < this.settings.maxBatchSize) {
      const item = this.peekLive();
      if (!item) break;
      this.queue[this.head++] = undefined;
      item.request.queued--;
      item.request.queueMs = Math.max(item.request.queueMs, now - item.enqueuedAt);
      batch.push(item);
    }
    this.queuedInputs -= batch.length;
    this.inFlight++;
    this.observer.onQueueDepth?.(this.queuedInputs);
    this.observer.onBatch?.(batch.length, batch.map((item) => now - item.enqueuedAt));
    this.runBatch(batch.map((item) => item.input)).then(
      (outcome) => this.complete(batch, outcome),
      (error: unknown) => this.fail(batch, error),
    );
  }

  private complete(batch: Array<QueuedItem<I, O>>, outcome: BatchOutcome<O>): void {
    this.averageBatchMs = 0.8 * this.averageBatchMs + 0.2 * outcome.computeMs;
    this.observer.onBatchDone?.(batch.length, outcome.computeMs);
    if (outcome.outputs.length !== batch.length) {
      this.fail(batch, new ServingError("ERR_INTERNAL", `backend returned ${outcome.outputs.length} outputs for a batch of ${batch.length}`));
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
    this.batchEnded();
  }

  private fail(batch: Array<QueuedItem<I, O>>, error: unknown): void {
    const reason = error instanceof ServingError ? error : new ServingError("ERR_INTERNAL", (error as Error)?.message ?? String(error), { cause: error });
    for (const item of new Set(batch.map((b) => b.request))) {
      if (item.done) continue;
      this.finish(item);
      item.reject(reason);
    }
    this.batchEnded();
  }

  private batchEnded(): void {
    this.inFlight--;
    this.pump();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.queuedInputs !== 0 || this.inFlight !== 0 || this.idleWaiters.length === 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private retryAfterSeconds(): number {
    const batchesAhead = this.queuedInputs / this.settings.maxBatchSize / this.settings.concurrency;
    return Math.max(1, Math.ceil((batchesAhead * this.averageBatchMs) / 1000));
  }
}
