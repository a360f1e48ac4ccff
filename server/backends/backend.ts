import type { Worker } from "node:worker_threads";
import type { ModelManifest } from "../models/manifest.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { SubmitOptions } from "../batching/dynamic-batcher.js";
import type { GenerationOptions, GenerationRequest, GenerationResult } from "./generation.js";

/** One input's answer, the same shape whichever backend served it. */
export interface ClassificationOutput {
  /** The likeliest label (for a multi-label model, the one with the highest probability of its own). */
  label: string;
  /** Multi-label models: every label at 0.5 or above (possibly none). */
  labels?: string[];
  /** Uncalibrated probability of `label` (what the raw model says). */
  score: number;
  /** Calibrated probability per label. */
  scores: Record<string, number>;
  /** Calibrated probability of `label` (multi-label: of the whole set of labels): the number thresholds and escalation use. */
  confidence: number;
  tokens: number;
  truncated: boolean;
}

export interface ClassifyResult {
  outputs: ClassificationOutput[];
  queueMs: number;
  computeMs: number;
}

/** One input's vector from an embedding model. */
export interface EmbeddingOutput {
  vector: Float32Array;
  tokens: number;
  truncated: boolean;
}

export interface EmbedResult {
  outputs: EmbeddingOutput[];
  queueMs: number;
  computeMs: number;
}

export interface PlacementInfo {
  provider: string;
  device: string;
  workers: number;
  threadsPerWorker: number;
  fallbackReason?: string;
  /** A model with `replicas`: where each copy runs. */
  replicas?: PlacementInfo[];
}

/** A loaded model version behind its scheduler. The HTTP layer sees models only through this. */
export interface ModelBackend {
  readonly manifest: ModelManifest;
  readonly dir: string;
  readonly placement: PlacementInfo;
  /** Classification; an embedding model answers ERR_MODEL_CANNOT_CLASSIFY. */
  classify(texts: string[], options: SubmitOptions): Promise<ClassifyResult>;
  /** One vector per text, for embedding models. */
  embed?(texts: string[], options: SubmitOptions): Promise<EmbedResult>;
  /** Text generation, for backends that have it (GGUF). */
  generate?(request: GenerationRequest, options: GenerationOptions): Promise<GenerationResult>;
  /** Stops taking work, finishes what is queued. */
  drain(): Promise<void>;
  dispose(): Promise<void>;
  /** The worker threads serving this model, for diagnostics and fault-injection tests. */
  workerThreads?(): readonly Worker[];
}

export interface BackendContext {
  dir: string;
  manifest: ModelManifest;
  metrics: ServingMetrics;
  /** Worker threads this model may use (already resolved from `workers: auto`). */
  workers: number;
  log: (level: "info" | "warn", message: string) => void;
  /** Set when this backend is one replica of several: the devices of all of them. */
  replicaDevices?: readonly string[];
  /** Model files that passed a slow check before, unchanged since (models.checkedFiles); none: always check. */
  checkedFiles?: { passed(path: string): Promise<boolean>; remember(path: string): Promise<void> };
}

export type BackendFactory = (context: BackendContext) => Promise<ModelBackend>;
