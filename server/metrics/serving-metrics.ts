import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from "prom-client";

const LINT_FAILING_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/**
 * Every metric the server exports, on a registry of its own (not prom-client's global one), so several servers
 * in one process (tests) do not mix their numbers. Worker threads report their timings with each batch and
 * the main thread records them here, so one endpoint shows all of them.
 */
export class ServingMetrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: "specialist_http_request_duration_seconds",
    help: "HTTP request duration, by route, method, status code and model.",
    labelNames: ["route", "method", "status", "model"] as const,
    buckets: exponentialBuckets(0.001, 2, 15),
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: "specialist_queue_wait_seconds",
    help: "Time an input waited in its model's queue before its batch was sent to a worker.",
    labelNames: ["model"] as const,
    buckets: exponentialBuckets(0.0005, 2, 14),
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: "specialist_batch_size",
    help: "Inputs per batch sent to a worker.",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  readonly tokenizeDuration = new Histogram({
    name: "specialist_tokenize_duration_seconds",
    help: "Time a worker spent tokenizing one batch.",
    labelNames: ["model"] as const,
    buckets: exponentialBuckets(0.0001, 2, 16),
    registers: [this.registry],
  });

  readonly inferenceDuration = new Histogram({
    name: "specialist_inference_duration_seconds",
    help: "Time a worker spent in the model for one batch (ONNX session run).",
    labelNames: ["model"] as const,
    buckets: exponentialBuckets(0.0001, 2, 16),
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: "specialist_queue_depth",
    help: "Inputs waiting in the model's queue.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: "specialist_requests_in_flight",
    help: "HTTP requests being handled.",
    registers: [this.registry],
  });

  readonly workerRestarts = new Counter({
    name: "specialist_worker_restarts_total",
    help: "Worker threads started to replace one that died.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly replicaInputs = new Counter({
    name: "specialist_replica_inputs_total",
    help: "Inputs sent to each replica of a model with replicas, by model and replica (index:device).",
    labelNames: ["model", "replica"] as const,
    registers: [this.registry],
  });

  readonly canaryComparisons = new Counter({
    name: "specialist_canary_comparisons_total",
    help: "Canary inputs also classified by the current version, by model, candidate version and whether the labels agreed.",
    labelNames: ["model", "version", "agreed"] as const,
    registers: [this.registry],
  });

  readonly canaryRequests = new Counter({
    name: "specialist_canary_requests_total",
    help: "Requests routed to a canary version, by model, version and outcome (answered, or failed and answered by the current version).",
    labelNames: ["model", "version", "outcome"] as const,
    registers: [this.registry],
  });

  readonly loadFailures = new Counter({
    name: "specialist_model_load_failures_total",
    help: "Model folders or versions that did not load (a model.json that does not validate, a model that fails to load), by model (the folder's name when its model.json could not be read).",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly reloads = new Counter({
    name: "specialist_model_reloads_total",
    help: "Version changes attempted, by model, trigger (admin, watch, canary, promote, start, load) and result (swapped, load_failed, gate_failed).",
    labelNames: ["model", "trigger", "result"] as const,
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: "specialist_tokens_total",
    help: "Tokens processed by the model.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly predictions = new Counter({
    name: "specialist_predictions_total",
    help: "Inputs classified, by model, label and whether the confidence reached the model's threshold.",
    labelNames: ["model", "label", "confident"] as const,
    registers: [this.registry],
  });

  readonly sequencesBusy = new Histogram({
    name: "specialist_sequences_busy",
    help: "GGUF models: sequences of the context evaluating when an input starts (including it); above 1, inputs share llama.cpp decode batches.",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });

  readonly generations = new Counter({
    name: "specialist_generations_total",
    help: "Text generations, by model and how they ended (stop, length, cancelled: the client left or the deadline passed).",
    labelNames: ["model", "finish"] as const,
    registers: [this.registry],
  });

  readonly generatedTokens = new Counter({
    name: "specialist_generated_tokens_total",
    help: "Tokens generated (completion tokens).",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics: boolean }) {
    if (!options.defaultMetrics) return;
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges `*_total`, which Prometheus reserves for counters (`promtool check metrics`
    // rejects them); they only count open handles, so they are left out rather than exported under wrong names.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
  }
}
