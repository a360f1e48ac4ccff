import type { Behaviour } from "./fake-frontier.js";

/** One way a frontier misbehaves, as the stand-in plays it for every call of a run. */
export interface FaultMode {
  name: string;
  what: string;
  behaviour: Behaviour;
}

export const FAULT_MODES: readonly FaultMode[] = [
  { name: "ok", what: "answers at once", behaviour: { kind: "answer" } },
  { name: "slow", what: "answers after 1.5 s", behaviour: { kind: "answer", delayMs: 1_500 } },
  { name: "hang", what: "accepts the request, never answers", behaviour: { kind: "hang" } },
  { name: "headers-then-stall", what: "200 and headers, part of the body, then nothing", behaviour: { kind: "stall" } },
  { name: "500", what: "500 to every call", behaviour: { kind: "status", status: 500 } },
  { name: "429-retry-after", what: "429 with Retry-After: 1", behaviour: { kind: "status", status: 429, retryAfter: "1" } },
  { name: "garbage", what: "200 whose body is not JSON", behaviour: { kind: "garbage" } },
  { name: "reset-mid-body", what: "200, part of the body, then the connection is closed", behaviour: { kind: "reset_mid_body" } },
  { name: "body-32mib", what: "a 32 MiB answer", behaviour: { kind: "huge", bytes: 32 * 2 ** 20 } },
  { name: "usage-without-tokens", what: "answers with usage holding only total_tokens", behaviour: { kind: "answer", usage: "total_only" } },
];

export function faultMode(name: string): FaultMode {
  const mode = FAULT_MODES.find((m) => m.name === name);
  if (!mode) throw new Error(`unknown fault mode '${name}'; one of ${FAULT_MODES.map((m) => m.name).join(", ")}`);
  return mode;
}
