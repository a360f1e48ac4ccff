import { fileURLToPath } from "node:url";
import { loadConfig } from "../../server/config/load-config.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { startServer, type RunningServer } from "../../server/http/start-server.js";

/** The bundled model is sure of this one (confidence ≈ 1.0, spam)… */
export const SURE = "Congratulations! You have won a FREE vacation. Click here to claim your prize now!!!";
/** …and unsure of this one (≈ 0.63, spam; a person would say ham): with a threshold of 0.9 only it escalates. */
export const UNSURE = "Hi Bob, the meeting moved to 3pm tomorrow, see the agenda attached.";

/**
 * What a deadline test allows past the deadline it checks: the server's bound is the feature under test, the slack
 * is for a machine busy with other work (the suite must pass beside a soak).
 */
export const WALL_CLOCK_SLACK_MS = 2_000;

export const MODELS_DIR = fileURLToPath(new URL("../../models", import.meta.url));

/** The real server on an ephemeral loopback port, serving the bundled models; close it in afterAll. */
export async function startTestServer(overrides: ServerConfigInput = {}): Promise<RunningServer> {
  const config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      server: { port: 0, logLevel: "warn", ...overrides.server },
      models: { repository: MODELS_DIR, serve: ["email-spam"], ...overrides.models },
      metrics: { defaultMetrics: true, ...overrides.metrics },
      ledger: { path: ":memory:", ...overrides.ledger },
      // Tests of escalation send short, alike texts that the bundled model's calibrated semantic cache would answer
      // from one another: it is on only where a test asks for it (test/model/semantic-cache.test.ts).
      cache: { ...overrides.cache, semantic: { enabled: false, ...overrides.cache?.semantic } },
    },
  });
  return startServer(config);
}

export async function postJson(server: RunningServer, path: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) },
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}

/** A number from the Prometheus text format: the sample whose name and labels contain all the given parts. */
export function metricValue(text: string, name: string, ...parts: string[]): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(name) && !l.startsWith("#") && parts.every((p) => l.includes(p)) && l.slice(name.length, name.length + 1).match(/[{ ]/));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : undefined;
}
