import { FakeFrontier } from "../../bench/faults/fake-frontier.js";

export { FakeFrontier, type Behaviour } from "../../bench/faults/fake-frontier.js";

/** The environment variable the servers under test read the fake's API key from. */
export const FAKE_KEY_ENV = "FAKE_FRONTIER_KEY";
export const FAKE_KEY = "sk-frontier-test";

/** An `escalation` config section with the fake as the default OpenAI-compatible provider. */
export function fakeEscalation(frontier: FakeFrontier, provider: Record<string, unknown> = {}) {
  process.env[FAKE_KEY_ENV] = FAKE_KEY;
  return {
    defaultProvider: "fake",
    providers: { fake: { kind: "openai" as const, model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: FAKE_KEY_ENV, ...provider } },
  };
}
