import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { learnByteBpe, withSingleTokens } from "../../training/gguf/byte-bpe.js";
import { writeGguf } from "../../training/gguf/gguf-writer.js";
import { llamaMetadata, randomLlamaTensors, vocabularyOf } from "../../training/gguf/llama-gguf.js";
import { postJson, startTestServer } from "../helpers/server.js";

// A repository of GGUF model folders, one good (random weights, but a valid file) and three broken ones.
let repository: string;
let server: RunningServer;

async function modelFolder(name: string, gguf: Buffer | undefined): Promise<void> {
  const dir = join(repository, name);
  await mkdir(join(dir, "prompts"), { recursive: true });
  await writeFile(join(dir, "prompts", "classify.txt"), "Email:\n{{input}}\nLabel:\n");
  if (gguf) await writeFile(join(dir, "model.gguf"), gguf);
  const manifest = {
    name,
    version: "1",
    format: "gguf",
    task: "text-classification",
    labels: ["ham", "spam"],
    artifacts: { model: "model.gguf" },
    limits: { maxTokens: 64 },
    gguf: { contextSize: 256, sequences: 2, threads: 1 },
  };
  await writeFile(join(dir, "model.json"), JSON.stringify(manifest));
}

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "gguf-repo-"));
  const texts = (await loadEmailCorpus({ limitPerGroup: 20 })).map((e) => e.text);
  const bpe = withSingleTokens(learnByteBpe(texts, { vocabSize: 400 }), [" spam", " ham"]);
  const shape = { vocab: vocabularyOf(bpe).length, dim: 16, layers: 1, heads: 2, kvHeads: 2, ffn: 32, context: 256, ropeBase: 10_000, rmsEps: 1e-5 };
  const path = join(repository, "tiny.gguf");
  await writeGguf(path, llamaMetadata(shape, "tiny", bpe), randomLlamaTensors(shape, 3));
  const good = await readFile(path);
  await modelFolder("good", good);
  await modelFolder("truncated", good.subarray(0, Math.floor(good.length * 0.6)));
  await modelFolder("wrong-magic", Buffer.concat([Buffer.from("GGUX"), good.subarray(4)]));
  await modelFolder("missing", undefined);
  // Header-valid, but two tokens are the same string: llama.cpp aborts the process reading it (GGML_ASSERT).
  const duplicated = { ...bpe, tokens: bpe.tokens.map((t, i) => (i === 300 ? bpe.tokens[301]! : t)) };
  const badVocab = join(repository, "bad-vocab.gguf");
  await writeGguf(badVocab, llamaMetadata(shape, "bad-vocab", duplicated), randomLlamaTensors(shape, 3));
  await modelFolder("bad-vocab", await readFile(badVocab));
  server = await startTestServer({ models: { repository, serve: "all", exitOnLoadError: false } });
});

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("loading GGUF models", () => {
  it("serves a good file and reports each broken one with its cause, without stopping the others", async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ name: string; status: string; error?: { message: string } }> };
    const byName = new Map(models.data.map((m) => [m.name, m]));
    expect(byName.get("good")?.status).toBe("ready");
    expect(byName.get("missing")).toMatchObject({ status: "failed", error: { message: expect.stringContaining("file not found") } });
    expect(byName.get("bad-vocab")).toMatchObject({ status: "failed", error: { message: expect.stringContaining("llama.cpp aborted") } });
    expect(byName.get("wrong-magic")).toMatchObject({ status: "failed", error: { message: expect.stringContaining("not a GGUF file") } });
    const truncated = byName.get("truncated")!;
    expect(truncated.status).toBe("failed");
    // llama.cpp only throws "Failed to load model"; the cause it logs must reach the operator.
    expect(truncated.error!.message).toMatch(/llama\.cpp (rejected|could not load) it: .*not within the file bounds/);
  });

  it("classifies with the good model through the same API as ONNX models, and answers 503 for a broken one", async () => {
    const ok = await postJson(server, "/v1/classify", { model: "good", input: ["hello there", "cheap pills"] });
    expect(ok.status).toBe(200);
    for (const r of ok.json.results) {
      expect(["ham", "spam"]).toContain(r.label);
      expect(r.scores.ham + r.scores.spam).toBeCloseTo(1, 6);
    }
    const broken = await postJson(server, "/v1/classify", { model: "truncated", input: "x" });
    expect(broken.status).toBe(503);
    expect(broken.json.error.code).toBe("ERR_MODEL_UNAVAILABLE");
  });
});
