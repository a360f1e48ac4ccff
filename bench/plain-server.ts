/**
 * What a user would write without this project: one Fastify handler that tokenizes with transformers.js and runs
 * ORT on the main thread, one request at a time. Used only as a baseline by bench/onnx-serving.ts.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import Fastify from "fastify";
import * as ort from "onnxruntime-node";
import { AutoTokenizer, env } from "@huggingface/transformers";

const modelDir = resolve(process.argv[2] ?? "models/email-spam/1");
const port = Number(process.argv[3] ?? 0);
env.allowRemoteModels = false;
const manifest = JSON.parse(await readFile(join(modelDir, "model.json"), "utf8")) as { labels: string[]; limits?: { maxTokens?: number } };
const maxLength = manifest.limits?.maxTokens ?? 512;
const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
const session = await ort.InferenceSession.create(join(modelDir, "model.onnx"), { intraOpNumThreads: 1 });
const labels = manifest.labels;
const takesSegments = session.inputNames.includes("token_type_ids");

const app = Fastify();
app.post<{ Body: { input: string } }>("/classify", async (request) => {
  const encoded = tokenizer(request.body.input, { truncation: true, max_length: maxLength });
  const ids = encoded.input_ids as { data: BigInt64Array; dims: number[] };
  const mask = encoded.attention_mask as { data: BigInt64Array; dims: number[] };
  const out = await session.run({
    input_ids: new ort.Tensor("int64", ids.data, ids.dims),
    attention_mask: new ort.Tensor("int64", mask.data, mask.dims),
    // BERT exports also take segment ids: one text is all segment 0.
    ...(takesSegments ? { token_type_ids: new ort.Tensor("int64", new BigInt64Array(ids.data.length), ids.dims) } : {}),
  });
  const logits = out.logits!.data as Float32Array;
  const max = Math.max(logits[0]!, logits[1]!);
  const e0 = Math.exp(logits[0]! - max);
  const e1 = Math.exp(logits[1]! - max);
  return { label: e1 > e0 ? labels[1] : labels[0], score: Math.max(e0, e1) / (e0 + e1) };
});
await app.listen({ host: "127.0.0.1", port });
const address = app.server.address();
console.log(`listening ${typeof address === "object" && address ? address.port : port}`);
