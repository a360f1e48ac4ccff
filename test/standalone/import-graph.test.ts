import { fileURLToPath } from "node:url";
import madge from "madge";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Arrows that must not exist: [importer prefix, imported prefix, why]. Dependencies point down only: the CLI
 * composes everything; bench uses training and server; training uses server; inside server, the front doors (http)
 * use the serving layer, which uses the rest.
 */
const FORBIDDEN: Array<[string, string, string, string?]> = [
  ["server/", "training/", "the server does not depend on training code"],
  ["server/", "bench/", "the server does not depend on benchmarks"],
  ["server/", "cli/", "the CLI is the composition root"],
  ["training/", "bench/", "training does not depend on benchmarks"],
  ["training/", "cli/", "the CLI is the composition root"],
  ["bench/", "cli/", "the CLI is the composition root"],
  ["server/serving/", "server/http/", "the serving layer knows nothing of HTTP"],
  ["server/serving/", "server/batch/", "the Batch API is a front door over the serving layer"],
  ["server/batch/", "server/http/", "the Batch API runs without HTTP (the CLI runs it too)"],
  // The manifest's shared fields are the backends' input; the registry of models is built over the backends.
  ["server/backends/", "server/models/", "backends know models only by their manifest", "server/models/manifest.ts"],
  ...["escalation", "backends", "batching", "cache", "state", "ledger", "metrics", "evaluation", "models", "auth", "config", "errors"].flatMap(
    (lower): Array<[string, string, string]> => [
      [`server/${lower}/`, "server/serving/", "the serving layer composes the layers below it, not the other way round"],
      [`server/${lower}/`, "server/http/", "HTTP is a front door over the serving layer"],
      [`server/${lower}/`, "server/batch/", "the Batch API is a front door over the serving layer"],
    ],
  ),
];

describe("the import graph", () => {
  it("has no cycles and no arrow from a lower layer to a higher one", async () => {
    const graph = await madge(["cli", "server", "training", "bench"], { baseDir: ROOT, fileExtensions: ["ts"], tsConfig: `${ROOT}/tsconfig.json` });
    const edges = Object.entries(graph.obj());
    expect(edges.length).toBeGreaterThan(150);
    expect(graph.circular()).toEqual([]);
    const wrong = edges.flatMap(([from, deps]) =>
      deps.flatMap((to) => FORBIDDEN.filter(([a, b, , allowed]) => from.startsWith(a) && to.startsWith(b) && to !== allowed).map(([, , why]) => `${from} → ${to}: ${why}`)),
    );
    expect(wrong).toEqual([]);
  });
});
