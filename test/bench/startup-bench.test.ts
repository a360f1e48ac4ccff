import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runStartupBench } from "../../bench/startup/default-serve-startup.js";
import { MODELS_DIR } from "../helpers/server.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("bench startup", () => {
  it("starts serve until ready, reads its idle memory, and names what it served", async () => {
    dir = await mkdtemp(join(tmpdir(), "startup-bench-"));
    const config = join(dir, "config.json");
    await writeFile(config, JSON.stringify({ models: { repository: MODELS_DIR, serve: ["email-spam"] }, ledger: { path: ":memory:" } }));
    const r = await runStartupBench({ command: ["--import", "tsx", CLI], starts: 1, idleSeconds: 0, args: ["--config", config] });
    expect(r.models).toEqual(["email-spam"]);
    expect(r.warm).toHaveLength(1);
    for (const run of [r.first, ...r.warm]) {
      expect(run.readyMs).toBeGreaterThan(0);
      // A Node process with a model loaded holds tens of MiB at least; the figure is the kernel's, not a guess.
      expect(run.idleRssMib).toBeGreaterThan(30);
    }
    expect(r.median).toEqual(r.warm[0]);
  }, 120_000);
});
