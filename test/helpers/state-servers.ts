import { stateServersMissing } from "../../bench/fleet/state-servers.js";

export { freePort, startPostgres, startRedis, type PostgresServer, type RedisServer } from "../../bench/fleet/state-servers.js";

/**
 * Whether the shared-state tests run: each test file starts its own PostgreSQL and Redis, and each test gets a fresh
 * database. Skipped where the Debian packages are missing, except under CI (`.ci/run` installs them), where that fails.
 */
export function stateTestsEnabled(): boolean {
  const missing = stateServersMissing();
  if (missing && process.env.CI) throw new Error(`${missing}: .ci/run installs it`);
  if (missing) console.warn(`shared-state tests skipped: ${missing}; run scripts/install-test-services.sh`);
  return missing === undefined;
}
