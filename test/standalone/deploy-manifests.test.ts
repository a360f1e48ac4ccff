import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config/load-config.js";

// No cluster runs here: the manifests are checked against the Kubernetes OpenAPI schemas (kubernetes-models) and
// against the code they deploy (the configuration they mount, the probes' paths, the drain they leave room for).
const root = new URL("../../", import.meta.url).pathname;
const dir = join(root, "deploy/kubernetes");

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: any };
const manifests: Manifest[] = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => d.toJS() as Manifest));
const find = (kind: string) => manifests.find((m) => m.kind === kind)!;

/** The kubernetes-models class of a manifest, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
async function modelClass(m: Manifest): Promise<new (data: unknown) => { validate(): void }> {
  const module = (await import(`kubernetes-models/${m.apiVersion}/${m.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  return module[m.kind]!;
}

describe("the Kubernetes manifests (deploy/kubernetes)", () => {
  it("are valid against the Kubernetes API schemas", async () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim", "PersistentVolumeClaim", "PodDisruptionBudget", "Secret", "Service"]);
    for (const m of manifests) {
      const Model = await modelClass(m);
      expect(() => new Model(m).validate(), `${m.kind} ${m.metadata.name}`).not.toThrow();
    }
    // The check has teeth: a wrong type is refused.
    const Deployment = await modelClass(find("Deployment"));
    expect(() => new Deployment({ ...find("Deployment"), spec: { ...find("Deployment").spec, replicas: "three" } }).validate()).toThrow(/replicas/);
  });

  it("mount a configuration the server accepts, with the Secret's variables, a fleet's shared state and tenants", () => {
    const config = find("ConfigMap").data["specialist.yaml"] as string;
    const secret = find("Secret").stringData as Record<string, string>;
    const deployment = find("Deployment");
    const container = deployment.spec.template.spec.containers[0];
    const mount = container.volumeMounts.find((v: { name: string }) => v.name === "config").mountPath as string;
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.SPECIALIST_CONFIG).toBe(`${mount}/specialist.yaml`);
    const tmp = mkdtempSync(join(tmpdir(), "k8s-config-"));
    try {
      const path = join(tmp, "specialist.yaml");
      writeFileSync(path, config);
      const loaded = loadConfig({ env: { ...secret, SPECIALIST_CONFIG: path } });
      expect(loaded.server.host).toBe("0.0.0.0");
      expect(loaded.state.postgres?.url).toBe(secret.SPECIALIST_STATE__POSTGRES__URL);
      expect(loaded.state.redis?.url).toBe(secret.SPECIALIST_STATE__REDIS__URL);
      expect(Object.keys(loaded.auth.tenants).length).toBeGreaterThan(0);
      // Every provider's key comes from the Secret.
      for (const provider of Object.values(loaded.escalation.providers)) expect(secret[provider.apiKeyEnv!]).toBeDefined();
      // The models and the shared files folder are volumes.
      const mounts = container.volumeMounts.map((v: { mountPath: string }) => v.mountPath);
      expect(mounts).toContain(loaded.models.repository);
      expect(mounts.some((m: string) => loaded.batch.filesDir.startsWith(`${m}/`))).toBe(true);

      // The pod is given time for the preStop pause and the server's drain.
      const grace = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
      const preStop = container.lifecycle.preStop.sleep.seconds as number;
      expect(grace).toBeGreaterThan(preStop + loaded.server.shutdownGraceMs / 1000);
      expect(container.ports[0].containerPort).toBe(loaded.server.port);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("probe the server's own health routes, ask for a GPU, and scale on a metric the server exports", () => {
    const container = find("Deployment").spec.template.spec.containers[0];
    const routes = readFileSync(join(root, "server/http/routes/health.ts"), "utf8");
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) expect(routes).toContain(`"${probe.httpGet.path}"`);
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    expect(container.resources.limits["nvidia.com/gpu"]).toBe("1");
    const metric = find("HorizontalPodAutoscaler").spec.metrics[0].pods.metric.name as string;
    expect(readFileSync(join(root, "server/metrics/serving-metrics.ts"), "utf8")).toContain(`"${metric}"`);
    const selector = find("Deployment").spec.selector.matchLabels;
    expect(find("Service").spec.selector).toEqual(selector);
    expect(find("PodDisruptionBudget").spec.selector.matchLabels).toEqual(selector);
  });
});
