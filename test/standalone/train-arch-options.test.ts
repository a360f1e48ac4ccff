import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerTrain } from "../../training/cli/train-command.js";

/** `train` parsed as the CLI parses it; every case here is refused before any data is read or any folder written. */
async function train(...args: string[]): Promise<unknown> {
  const program = new Command().exitOverride();
  registerTrain(program);
  return program.parseAsync(["train", "--name", "x", "-o", "/nonexistent/never-written", ...args], { from: "user" }).then(
    () => undefined,
    (error: Error) => error,
  );
}

describe("train --arch", () => {
  it("refuses an architecture it does not have", async () => {
    expect(String(await train("--arch", "lstm"))).toMatch(/--arch must be fasttext or bert/);
  });

  it("refuses the options of the other architecture rather than ignoring them", async () => {
    expect(String(await train("--arch", "bert", "--buckets", "1024", "--pooling", "mean"))).toMatch(/--buckets, --pooling are not options of --arch bert/);
    expect(String(await train("--layers", "2"))).toMatch(/--layers is not an option of --arch fasttext/);
    expect(String(await train("--batch-size", "8", "--python", "/usr/bin/python3"))).toMatch(/--batch-size, --python are not options of --arch fasttext/);
  });
});
