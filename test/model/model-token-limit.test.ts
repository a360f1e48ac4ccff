import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxTextModel } from "../../server/backends/onnx/onnx-text-model.js";
import { modelTokenLimit } from "../../server/backends/onnx/position-limit.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import { MODELS_DIR } from "../helpers/server.js";

/**
 * Regression (issue 16): a model built for 128 positions got model.json's default limit of 512 tokens, so a longer
 * input failed in ORT with "indices element out of data bounds" (500, for every input of the request). The limit
 * now never exceeds what the folder's config.json and tokenizer_config.json say the model accepts.
 */
let dir: string;
const LONG = Array.from({ length: 400 }, (_, i) => `word${i % 50} meeting agenda`).join(" ");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "token-limit-"));
  await cp(join(MODELS_DIR, "email-spam", "1"), dir, { recursive: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a model's own token limit", () => {
  it("is read from config.json and tokenizer_config.json, the smaller winning, RoBERTa's two offset positions left out", async () => {
    expect(await modelTokenLimit(join(MODELS_DIR, "email-spam", "1"), join(MODELS_DIR, "email-spam", "1"))).toBe(2048);
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "bert", max_position_embeddings: 16 }));
    expect(await modelTokenLimit(dir, dir)).toBe(16);
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "roberta", max_position_embeddings: 130 }));
    expect(await modelTokenLimit(dir, dir)).toBe(128);
  });

  it("truncates inputs to it instead of failing the batch", async () => {
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "bert", max_position_embeddings: 16 }));
    const manifest = await readManifest(dir);
    expect(manifest.limits.maxTokens).toBe(2048);
    const classifier = await OnnxTextModel.load(dir, { ...manifest, device: "cpu" }, { device: "cpu", intraOpThreads: 1 });
    try {
      const result = await classifier.run([LONG, "short one"]);
      expect(result.tokens[0]).toBe(16);
      expect(result.truncated).toEqual([true, false]);
      expect(result.tokens[1]).toBeLessThan(16);
    } finally {
      await classifier.dispose();
    }
  });
});
