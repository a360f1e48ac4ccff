import { build, type Metafile } from "esbuild";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The packages and own files a module loads before any of its code runs: its static imports, followed through. */
async function staticImports(entry: string): Promise<{ packages: Set<string>; files: Set<string> }> {
  const { metafile } = await build({ entryPoints: [entry], absWorkingDir: ROOT, bundle: true, platform: "node", format: "esm", write: false, metafile: true, packages: "external", outfile: "out.js", logLevel: "silent" });
  const inputs: Metafile["inputs"] = metafile.inputs;
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const edge of inputs[file]?.imports ?? []) {
      if (edge.kind !== "import-statement") continue;
      if (!edge.external) stack.push(edge.path);
      else if (!edge.path.startsWith("node:")) packages.add(edge.path.split("/").slice(0, edge.path.startsWith("@") ? 2 : 1).join("/"));
    }
  }
  return { packages, files };
}

/**
 * Start-up time and idle memory (issue 18): `serve` loads a runtime, an SDK or a fleet client only when the
 * configuration needs it. Regression: every server imported all of them, and the CLI imported training and
 * benchmark code, about 5 s of a 9 s start on a busy machine and 30 MB of heap (gpt-tokenizer's ranks).
 */
describe("what a server loads before it reads its configuration", () => {
  it("serve imports no model runtime, frontier SDK, fleet client, training or benchmark code", async () => {
    const { packages, files } = await staticImports("server/cli/serve-command.ts");
    for (const lazy of ["node-llama-cpp", "onnxruntime-node", "@huggingface/transformers", "piscina", "openai", "@anthropic-ai/sdk", "gpt-tokenizer", "pg", "ioredis"]) {
      expect(packages, lazy).not.toContain(lazy);
    }
    expect([...files].filter((f) => /^(training|bench)\//.test(f))).toEqual([]);
    expect(packages).toContain("fastify");
  });

  it("the CLI loads only the command it runs", async () => {
    const { files } = await staticImports("cli/main.ts");
    expect([...files].filter((f) => /\/cli\/.*-command\.ts$/.test(f))).toEqual([]);
  });
});
