import { z } from "zod";

/** Circuit breaker of one provider: opens on a run of failures or a high failure rate, probes after a cool-down. */
export const BreakerSettings = z
  .object({
    consecutiveFailures: z.number().int().min(1).default(5),
    /** Failure share over the last `window` calls (once `minCalls` were made) that opens the breaker. */
    failureRate: z.number().min(0).max(1).default(0.5),
    window: z.number().int().min(1).default(20),
    minCalls: z.number().int().min(1).default(10),
    coolDownMs: z.number().int().min(0).default(30_000),
    /** Calls let through while half-open; all must succeed to close. */
    halfOpenProbes: z.number().int().min(1).default(1),
  })
  .strict();

/** Output tokens of a call by default: a label's JSON, or room for a reasoning model to think first. */
export const PLAIN_OUTPUT_TOKENS = 64;
export const REASONING_OUTPUT_TOKENS = 4096;

export const ProviderSettings = z
  .object({
    /** Wire format: OpenAI Chat Completions (OpenAI, vLLM, llama-server, another instance…) or Anthropic Messages. */
    kind: z.enum(["openai", "anthropic"]),
    model: z.string().min(1),
    /** API base URL; the SDK's default (the vendor's API) when unset. */
    baseURL: z.string().url().optional(),
    /** Name of the environment variable holding the API key: keys never live in config files. */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"),
    /** Limit of one call, response body included; retries all fit in the escalation's time budget (deadlineMs). */
    timeoutMs: z.number().int().min(10).max(600_000).default(10_000),
    maxRetries: z.number().int().min(0).max(5).default(2),
    retryBaseDelayMs: z.number().int().min(0).max(10_000).default(100),
    /**
     * Output token limit sent with each call; also the output part of the worst-case cost reserved before it. A
     * reasoning model spends hidden reasoning tokens inside this limit before it writes the answer: default 64, or
     * 4096 with `reasoningEffort`.
     */
    maxOutputTokens: z.number().int().min(1).max(32_768).optional(),
    /**
     * OpenAI reasoning models (gpt-5, o-series): `reasoning_effort` sent with each call. Their reasoning tokens are
     * billed as output (OpenAI counts them in completion_tokens) and reserved within maxOutputTokens.
     */
    reasoningEffort: z.enum(["minimal", "low", "medium", "high"]).optional(),
    /** OpenAI-compatible servers differ: OpenAI's newer models take max_completion_tokens, older servers max_tokens. */
    maxTokensField: z.enum(["max_completion_tokens", "max_tokens"]).default("max_completion_tokens"),
    /** Input tokens are counted with the o200k tokenizer; the reservation multiplies them by this margin. */
    inputTokenMargin: z.number().min(1).max(4).default(1.25),
    /** A response body past this size is cut off and counted as an invalid answer (an answer is a few hundred bytes). */
    maxResponseBytes: z.number().int().min(1024).max(256 * 2 ** 20).default(2 ** 20),
    breaker: BreakerSettings.default(BreakerSettings.parse({})),
  })
  .strict()
  .superRefine((p, ctx) => {
    // Anthropic's extended thinking cannot be combined with the forced tool call the answer is read from.
    if (p.reasoningEffort && p.kind === "anthropic") ctx.addIssue({ code: "custom", path: ["reasoningEffort"], message: "is for OpenAI-compatible reasoning models; an anthropic provider answers through a forced tool call, which extended thinking does not allow" });
  })
  .transform((p) => ({ ...p, maxOutputTokens: p.maxOutputTokens ?? (p.reasoningEffort ? REASONING_OUTPUT_TOKENS : PLAIN_OUTPUT_TOKENS) }));

export const ModelPrice = z
  .object({
    inputUsdPerMTok: z.number().min(0),
    outputUsdPerMTok: z.number().min(0),
  })
  .strict();

export const EscalationSettings = z
  .object({
    /** The kill switch's state at start-up; `POST /admin/escalation` flips it without a restart. */
    enabled: z.boolean().default(true),
    /**
     * Time budget of one input's escalation: every try, back-off and response body, within the request's deadline.
     * When it runs out the caller gets the specialist's answer, flagged `degraded` (`timeout`). The default covers a
     * frontier call's usual 0.8–5 s (about 7 s at the 99th percentile) inside the default 10 s request deadline.
     */
    deadlineMs: z.number().int().min(50).max(600_000).default(8_000),
    /** The same for a generation (JSON that failed its schema, or a low-confidence answer): the frontier writes the whole answer, which takes longer. */
    outputDeadlineMs: z.number().int().min(50).max(600_000).default(30_000),
    /** Time a background shadow call (a model's `escalation.shadowRate`) may take, retries included. */
    shadowDeadlineMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Provider used by models that do not name one; none: nothing escalates (answers are `degraded`). */
    defaultProvider: z.string().min(1).optional(),
    providers: z.record(z.string().min(1), ProviderSettings).default({}),
    /** Prices per provider model name, overriding or extending the built-in dated table. */
    prices: z.record(z.string().min(1), ModelPrice).default({}),
  })
  .strict();

export const TenantSettings = z
  .object({
    /** SHA-256 hashes of the tenant's API keys (`specialist hash-key`), never the keys. */
    keys: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, "sha256:<64 hex digits>, from `specialist hash-key`")).min(1),
    /** `admin` may use /admin routes and read every tenant's records. */
    role: z.enum(["user", "admin"]).default("user"),
    /** Frontier spend per UTC day; escalations that could exceed it are not made. */
    dailyBudgetUsd: z.number().min(0).default(10),
    escalationsPerMinute: z.number().min(0).default(600),
  })
  .strict();

/** Without tenants the server is open (loopback only): every request acts as this tenant, with the admin role. */
export const OpenAccessSettings = z
  .object({
    dailyBudgetUsd: z.number().min(0).default(10),
    escalationsPerMinute: z.number().min(0).default(600),
  })
  .strict();

export const AuthSettings = z
  .object({
    tenants: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-'"), TenantSettings).default({}),
    open: OpenAccessSettings.default(OpenAccessSettings.parse({})),
  })
  .strict();

export const LedgerSettings = z
  .object({
    /** SQLite file of escalations and review items (created with its folder); ":memory:" keeps nothing. */
    path: z.string().min(1).default("data/ledger.sqlite"),
    /** Store request texts with their records (needed by `export`); off by default: only a hash is kept. */
    storeInputs: z.boolean().default(false),
    /**
     * Largest size of the ledger file, MiB (unset: no limit but the disk's). When it is reached, new records fail
     * like on a full disk: requests are still answered, `specialist_ledger_write_errors_total` counts the lost records.
     */
    maxSizeMb: z.number().positive().optional(),
  })
  .strict();

export type ProviderSettings = z.infer<typeof ProviderSettings>;
export type BreakerSettings = z.infer<typeof BreakerSettings>;
export type EscalationSettings = z.infer<typeof EscalationSettings>;
export type AuthSettings = z.infer<typeof AuthSettings>;
export type LedgerSettings = z.infer<typeof LedgerSettings>;
export type ModelPrice = z.infer<typeof ModelPrice>;

export const CacheSettings = z
  .object({
    /** Exact-match answers, keyed by tenant, model version and normalised text; degraded answers are not kept. */
    enabled: z.boolean().default(true),
    maxEntries: z.number().int().min(1).default(10_000),
    ttlMs: z.number().int().min(1).default(3_600_000),
    /**
     * Frontier answers reused for near-duplicate texts, for models whose model.json carries a calibrated
     * `semanticCache` block (`specialist calibrate-cache`); the others never use it. Off when `cache.enabled` is.
     */
    semantic: z
      .object({
        enabled: z.boolean().default(true),
        maxEntriesPerModel: z.number().int().min(1).max(1_000_000).default(10_000),
        ttlMs: z.number().int().min(1).default(86_400_000),
        /** With `state.redis`: answers kept on the stream replicas share them by (about this many, all models). */
        sharedMaxEntries: z.number().int().min(100).max(10_000_000).default(100_000),
      })
      .strict()
      .default({ enabled: true, maxEntriesPerModel: 10_000, ttlMs: 86_400_000, sharedMaxEntries: 100_000 }),
  })
  .strict();
