import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cudaProviderMissing } from "../../server/backends/onnx/session.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { metricValue, postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

let server: RunningServer;

/** `requests` classify calls from `clients` concurrent clients. */
async function traffic(model: string, requests: number, clients: number, inputs: number): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < requests) {
      const i = next++;
      const r = await postJson(server, "/v1/classify", { model, input: Array.from({ length: inputs }, (_, k) => `${k % 2 ? SURE : UNSURE} ${i}`) });
      expect(r.status).toBe(200);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
}

beforeAll(async () => {
  // On this CPU-only host `auto` falls back to the CPU, so both copies run here; on a GPU host the first is on cuda:0.
  server = await startTestServer({
    models: {
      serve: ["email-spam", "email-spam-llama"],
      overrides: {
        "email-spam": { replicas: [{ device: "auto", workers: 1 }, { device: "cpu", workers: 1 }] },
        "email-spam-llama": { replicas: [{ device: "auto" }, { device: "cpu" }], gguf: { sequences: 2, threads: 1 } },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe("replicas", () => {
  it("loads one copy per device and lists where each runs", async () => {
    const models = ((await fetch(`${server.url}/v1/models`).then((r) => r.json())) as any).data;
    const onnx = models.find((m: { name: string }) => m.name === "email-spam");
    // The `auto` copy is on the CPU where the CUDA provider is not installed; on a GPU host it may be on cuda:0.
    const auto = cudaProviderMissing() ? { provider: "cpu", device: "cpu" } : { provider: expect.stringMatching(/^(cpu|cuda)$/), device: expect.stringMatching(/^(cpu|cuda:0)$/) };
    expect(onnx.placement).toMatchObject({ workers: 2 });
    expect(onnx.placement.replicas).toEqual([
      { ...auto, workers: 1, threads_per_worker: 1 },
      { provider: "cpu", device: "cpu", workers: 1, threads_per_worker: 1 },
    ]);
    const gguf = models.find((m: { name: string }) => m.name === "email-spam-llama");
    expect(gguf.placement).toMatchObject({ provider: "llama.cpp", device: expect.stringMatching(/,cpu$/), workers: 4 });
    expect(gguf.placement.replicas).toHaveLength(2);
    expect(server.context.registry.get("email-spam").workerThreads!()).toHaveLength(2);
  });

  it("spreads concurrent requests over the replicas of an ONNX model and of a GGUF model", async () => {
    await traffic("email-spam", 80, 8, 16);
    await traffic("email-spam-llama", 24, 4, 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const model of ["email-spam", "email-spam-llama"]) {
      const first = metricValue(metrics, "specialist_replica_inputs_total", `model="${model}"`, 'replica="0:cpu"') ?? 0;
      const second = metricValue(metrics, "specialist_replica_inputs_total", `model="${model}"`, 'replica="1:cpu"') ?? 0;
      expect(first + second).toBe(model === "email-spam" ? 80 * 16 : 24);
      // Least-outstanding routing: with several requests in flight neither copy sits idle.
      expect(Math.min(first, second)).toBeGreaterThan(0);
    }
  });
});

describe("replicas on a device this host lacks", () => {
  it("stops start-up naming the replica and the device", async () => {
    const error = await startTestServer({ models: { overrides: { "email-spam": { replicas: [{ device: "cpu", workers: 1 }, { device: "cuda:1", workers: 1 }] } } } }).then(
      (s) => s.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_DEVICE_UNAVAILABLE", message: expect.stringMatching(/^email-spam: replica 1 on cuda:1: device 'cuda:1' requested but/) });
  });
});
