import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Packages need not export their package.json: walk up from the entry point to the one with their name. */
async function packageVersion(name: string): Promise<string> {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (;;) {
      const manifest = await readFile(join(dir, "package.json"), "utf8").then((t) => JSON.parse(t) as { name?: string; version: string }, () => undefined);
      if (manifest?.name === name) return manifest.version;
      const parent = dirname(dir);
      if (parent === dir) return "unknown";
      dir = parent;
    }
  } catch {
    return "unknown";
  }
}

/** What a report ran on: Node, the runtime's key packages and the commit, so a figure can be traced. */
export async function versions(): Promise<Record<string, string>> {
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // not a git checkout
  }
  const names = ["onnxruntime-node", "node-llama-cpp", "fastify", "openai", "@anthropic-ai/sdk", "piscina"];
  const found = await Promise.all(names.map(packageVersion));
  return { node: process.version, commit, ...Object.fromEntries(names.map((n, i) => [n, found[i]!])) };
}
