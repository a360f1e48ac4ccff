import pg from "pg";
import { setTimeout as sleep } from "node:timers/promises";
import { StateUnavailable } from "../state-unavailable.js";
import { migratePostgres } from "./pg-migrations.js";

export interface PostgresSettings {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  retryMs: number;
}

// BIGINT (ids, nano-USD) as numbers: every amount and id stays far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text"))) as typeof pg.types.getTypeParser,
};

/** Errors that say the connection, not the statement, failed: worth trying again on another connection. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message ?? "";
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "57P01", "57P02", "57P03", "53300"].includes(code) ||
    code.startsWith("08") ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  );
}

/**
 * The pool every PostgreSQL store of a replica shares. A query that fails for a lost connection is tried again until
 * `retryMs` has passed, then fails as StateUnavailable; any other error (a constraint, a bug) fails at once.
 */
export class PostgresDatabase {
  private constructor(
    readonly pool: pg.Pool,
    private readonly retryMs: number,
  ) {}

  /** Connects, migrates the schema, and returns the pool; fails start-up with a clear message when it cannot. */
  static async open(settings: PostgresSettings): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize,
      statement_timeout: settings.statementTimeoutMs,
      connectionTimeoutMillis: Math.max(1_000, settings.retryMs),
      idleTimeoutMillis: 30_000,
      application_name: "specialist-serve",
      types,
    });
    // An idle client whose server went away emits here; without a listener that would end the process.
    pool.on("error", () => undefined);
    const database = new PostgresDatabase(pool, settings.retryMs);
    try {
      await database.withClient((client) => migratePostgres(client));
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return database;
  }

  /**
   * `once`: a write that must not run twice (a reservation whose answer a lost connection may have swallowed) is
   * retried only while no connection could be had, never after it was sent.
   */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = [], options: { once?: boolean; name?: string } = {}): Promise<pg.QueryResult<R>> {
    // A named statement is parsed and planned once per connection: the hot path's queries are.
    const query: pg.QueryConfig = options.name ? { name: options.name, text: sql, values: params } : { text: sql, values: params };
    if (!options.once) return this.retrying(() => this.pool.query<R>(query));
    const client = await this.retrying(() => this.pool.connect());
    let broken: Error | undefined;
    try {
      return await client.query<R>(query);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      broken = error as Error;
      throw new StateUnavailable("postgres", error);
    } finally {
      client.release(broken);
    }
  }

  async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        return await work(client);
      } catch (error) {
        if (isConnectionError(error)) broken = error as Error;
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const giveUp = Date.now() + this.retryMs;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        if (Date.now() >= giveUp) throw new StateUnavailable("postgres", error);
        await sleep(Math.min(50 * 2 ** tries, 500, Math.max(0, giveUp - Date.now())));
      }
    }
  }
}
