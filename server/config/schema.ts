import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { BACKENDS } from "../backends/registry.js";
import { BatchingSettings, Device, EscalationPolicy, GenerationConfidence, InputLimits, Replicas } from "../models/manifest.js";
import { overridable } from "./overridable.js";
import { AuthSettings, CacheSettings, EscalationSettings, LedgerSettings } from "./escalation-schema.js";
import { BatchSettings } from "./batch-schema.js";
import { StateSettings } from "./state-schema.js";
import { DEFAULT_MIN_SUPPORT } from "../evaluation/regression-gate.js";

/** The optional evaluation gate of a reload, a canary start or a watched new version. */
export const ReloadGateSettings = z
  .object({
    /** Golden file (JSONL or CSV: `text`, `label`, optional `category`), read again at each reload. */
    golden: z.string().min(1),
    /** Largest absolute drop allowed in accuracy, macro-F1, any label's F1 or any category's accuracy. */
    margin: z.number().min(0).max(1).default(0.01),
    /** Golden items a label or category needs before its check may block; smaller ones are reported, not gated. */
    minSupport: z.number().int().min(1).default(DEFAULT_MIN_SUPPORT),
  })
  .strict();

/** A candidate version that takes a share of the traffic from start-up. */
export const CanarySettings = z
  .object({
    version: z.string().min(1),
    /** Share of requests (0–1) the candidate answers. */
    share: z.number().min(0).max(1),
  })
  .strict();

const OverrideFields = {
  /** Version to serve when the model folder holds several (`<model>/<version>/`); default: the highest. */
  version: z.string().min(1).optional(),
  batching: overridable(BatchingSettings).optional(),
  limits: overridable(InputLimits).optional(),
  device: Device.optional(),
  /** Copies of the model across devices (e.g. cuda:0, cuda:1, cpu); replaces `device` when set. */
  replicas: Replicas.optional(),
  threshold: z.number().min(0).max(1).optional(),
  /** A generating model's answer confidence: its threshold, temperature or score, over model.json's. */
  generation: overridable(GenerationConfidence).optional(),
  escalation: overridable(EscalationPolicy).optional(),
  gate: ReloadGateSettings.optional(),
  canary: CanarySettings.optional(),
};

/** Per-model settings that the operator may change without touching the model folder. */
export const ModelOverride = z
  .object(OverrideFields)
  // Besides these: a backend's own block under its format's name, for this host (e.g. gguf: {sequences, threads}).
  .catchall(z.unknown())
  .superRefine((override, ctx) => {
    for (const [key, value] of Object.entries(override)) {
      if (Object.hasOwn(OverrideFields, key)) continue;
      const kind = Object.hasOwn(BACKENDS, key) ? BACKENDS[key]! : undefined;
      if (!kind) {
        ctx.addIssue({ code: "unrecognized_keys", keys: [key], path: [], message: `Unrecognized key: "${key}"` });
        continue;
      }
      const parsed = overridable(kind.settings).safeParse(value);
      if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", path: [key, ...issue.path], message: issue.message });
    }
    if (override.canary && override.version === override.canary.version) {
      ctx.addIssue({ code: "custom", path: ["canary", "version"], message: `the canary must be another version than the one served (${override.version})` });
    }
  });

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

export const ServerSettings = z
  .object({
    /** Loopback by default: the server is not reachable from other hosts unless asked. */
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Largest request body; larger bodies get 413 ERR_BODY_TOO_LARGE. */
    bodyLimitBytes: z.number().int().min(1024).default(1_048_576),
    /** Deadline of a request that does not set its own; past it the answer is 504 ERR_DEADLINE_EXCEEDED. */
    requestDeadlineMs: z.number().int().min(1).max(600_000).default(10_000),
    /** Upper bound a client may ask for with `deadline_ms`. */
    maxRequestDeadlineMs: z.number().int().min(1).max(3_600_000).default(60_000),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** How long shutdown waits for queued work before closing connections. */
    shutdownGraceMs: z.number().int().min(0).default(10_000),
  })
  .strict();

export const ModelsSettings = z
  .object({
    /** Folder with one sub-folder per model (each with a model.json). Relative paths are from the working directory. */
    repository: z.string().min(1).default("models"),
    /** Model names to serve, or "all" for every model in the repository. */
    serve: z.union([z.literal("all"), z.array(z.string().min(1)).min(1)]).default("all"),
    /** Stop start-up when a model fails to load (Triton's default); false serves the others and reports the failure. */
    exitOnLoadError: z.boolean().default(true),
    overrides: z.record(z.string(), ModelOverride).default({}),
    /**
     * Where the model files that passed a slow check are remembered (a GGUF's child-process validation, seconds per
     * model), so a restart on unchanged files skips it; false: check every time.
     */
    checkedFiles: z.union([z.string().min(1), z.literal(false)]).default(() => join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "specialist-serve", "checked-files.json")),
    /**
     * Polls the repository this often (ms) and reloads a served model when a higher version folder appears (through
     * its gate when one is set); 0 turns watching off. Models with a pinned version or a running canary are left alone.
     */
    watchIntervalMs: z.number().int().min(0).default(0),
  })
  .strict();

export const MetricsSettings = z
  .object({
    enabled: z.boolean().default(true),
    /** Process metrics (CPU, memory, event-loop lag, GC). */
    defaultMetrics: z.boolean().default(true),
    /** Drift of classification answers against each model's reference (server/monitoring/). */
    drift: z
      .object({
        /** The window the drift score and the admin report cover by default. */
        windowMinutes: z.number().positive().max(24 * 60).default(60),
        /** Length of one point of the timeline. */
        bucketSeconds: z.number().int().min(1).max(3600).default(60),
        /** History kept per model (memory: keepHours · 3600 / bucketSeconds small buckets). */
        keepHours: z.number().positive().max(24 * 7).default(24),
        /** Fewer answers than this in the window: no score (too noisy to alert on). */
        minAnswers: z.number().int().min(1).default(200),
      })
      .strict()
      .default({ windowMinutes: 60, bucketSeconds: 60, keepHours: 24, minAnswers: 200 }),
  })
  .strict();

export const ConsoleSettings = z
  .object({
    /** The operator console at /console. Its pages call the API with the signed-in key, so they add no access. */
    enabled: z.boolean().default(true),
    /** Folder of the built console (default: the package's dist/console-web, written by `npm run build`). */
    assets: z.string().min(1).optional(),
  })
  .strict();

export const ServerConfig = z
  .object({
    server: ServerSettings.default(ServerSettings.parse({})),
    models: ModelsSettings.default(ModelsSettings.parse({})),
    metrics: MetricsSettings.default(MetricsSettings.parse({})),
    escalation: EscalationSettings.default(EscalationSettings.parse({})),
    auth: AuthSettings.default(AuthSettings.parse({})),
    ledger: LedgerSettings.default(LedgerSettings.parse({})),
    cache: CacheSettings.default(CacheSettings.parse({})),
    batch: BatchSettings.default(BatchSettings.parse({})),
    state: StateSettings.default(StateSettings.parse({})),
    console: ConsoleSettings.default(ConsoleSettings.parse({})),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (!isLoopback(config.server.host) && Object.keys(config.auth.tenants).length === 0) {
      ctx.addIssue({ code: "custom", path: ["server", "host"], message: `'${config.server.host}' is reachable from other hosts: configure auth.tenants with API keys first, or bind to 127.0.0.1` });
    }
    const { defaultProvider, providers } = config.escalation;
    if (defaultProvider !== undefined && !(defaultProvider in providers)) {
      ctx.addIssue({ code: "custom", path: ["escalation", "defaultProvider"], message: `no provider '${defaultProvider}' in escalation.providers (${Object.keys(providers).join(", ") || "none"})` });
    }
    for (const [name, override] of Object.entries(config.models.overrides)) {
      const provider = override.escalation?.provider;
      if (provider !== undefined && !(provider in providers)) {
        ctx.addIssue({ code: "custom", path: ["models", "overrides", name, "escalation", "provider"], message: `no provider '${provider}' in escalation.providers` });
      }
    }
  });

export type ServerConfig = z.infer<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;
export type ModelOverride = z.infer<typeof ModelOverride>;
export type ReloadGateSettings = z.infer<typeof ReloadGateSettings>;
