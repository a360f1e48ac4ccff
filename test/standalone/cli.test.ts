import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const cli = new URL("../../cli/main.ts", import.meta.url).pathname;
const specialist = (...args: string[]) => run(process.execPath, ["--import", "tsx", cli, ...args], { env: { ...process.env, NO_COLOR: "1" } });

describe("command line", () => {
  it("lists its subcommands", async () => {
    const { stdout } = await specialist("--help");
    for (const command of ["serve", "train", "eval", "export", "bench", "hash-key"]) expect(stdout).toContain(command);
  });

  it("has --help on each subcommand", async () => {
    const [serve, train, evaluate, bench] = await Promise.all(
      [["serve"], ["train"], ["eval"], ["bench", "serving"]].map((command) => specialist(...command, "--help")),
    );
    expect(bench!.stdout).toContain("--clients");
    expect(serve!.stdout).toContain("--port");
    expect(train!.stdout).toContain("--corpus");
    expect(evaluate!.stdout).toContain("--baseline");
  });

  it("hashes an API key the way the server checks it", async () => {
    const { stdout } = await specialist("hash-key", "sk-example");
    expect(stdout.trim()).toBe("hash: sha256:" + createHash("sha256").update("sk-example").digest("hex"));
  });

  it("exits 1 with the error code and the path on a bad configuration", async () => {
    const error = (await run(process.execPath, ["--import", "tsx", cli, "serve"], { env: { ...process.env, SPECIALIST_SERVER__PORT: "http" } }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("ERR_CONFIG_INVALID");
    expect(error.stderr).toContain("server.port");
  });
});
