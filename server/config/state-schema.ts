import { z } from "zod";

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "a PostgreSQL connection URL, postgres://user:password@host:5432/database")
  .describe("read from $SPECIALIST_POSTGRES_URL when unset");
const redisUrl = z.string().regex(/^rediss?:\/\//, "a Redis URL, redis://host:6379 or rediss://… for TLS");

/**
 * Where the state that outlives a request lives. Unset: the embedded store (the SQLite `ledger.path`, rate limits,
 * breakers and the kill switch in the process), right for one process. For a fleet, every replica points at the
 * same PostgreSQL (ledger, write-ahead spend, review queue) and Redis (rate limits, breakers, kill switch).
 */
export const StateSettings = z
  .object({
    postgres: z
      .object({
        url: postgresUrl,
        /** Connections per replica. */
        poolSize: z.number().int().min(1).max(200).default(10),
        /** Longest a statement may run before PostgreSQL cancels it. */
        statementTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
        /** A write or read that failed for a lost connection is tried again within this time (and the request's deadline). */
        retryMs: z.number().int().min(0).max(60_000).default(2_000),
      })
      .strict()
      .optional(),
    redis: z
      .object({
        url: redisUrl,
        /** Prefix of every key, so that several deployments can share one Redis. */
        keyPrefix: z.string().max(64).default("specialist:"),
        /** A command waits at most this long; past it the call counts as the store being down. */
        commandTimeoutMs: z.number().int().min(50).max(60_000).default(1_000),
      })
      .strict()
      .optional(),
    /**
     * A replica that has not renewed its heartbeat for this long is taken for dead: the frontier calls it left
     * pending are counted at their worst case (`unknown_outcome`) by the next replica that looks.
     */
    replicaTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
  })
  .strict();

export type StateSettings = z.infer<typeof StateSettings>;
