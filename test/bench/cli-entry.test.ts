import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY } from "../../bench/cli-entry.js";

describe("the CLI the benchmarks start", () => {
  // Regression: bench gguf and bench onnx still started dist/server/cli/main.js after the CLI moved to cli/.
  it("is the CLI's entry point, whether the bench runs built (main.js) or from sources (main.ts)", () => {
    expect(CLI_ENTRY).toMatch(/[/\\]cli[/\\]main\.js$/);
    expect(existsSync(CLI_ENTRY.replace(/\.js$/, ".ts"))).toBe(true);
  });
});
