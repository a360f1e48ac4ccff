import { readFile, writeFile } from "node:fs/promises";
import type { LabelledExample } from "../../server/evaluation/example.js";
import type { ExportedExample } from "../../training/data/ledger-export.js";

/** Writes examples as the JSONL `train --data` and `eval --data` read. */
export async function writeLabelledJsonl(path: string, examples: LabelledExample[]): Promise<void> {
  const lines = examples.map((e) => JSON.stringify({ id: e.id, text: e.text, label: e.label, category: e.category ?? "" }));
  await writeFile(path, lines.join("\n") + (lines.length ? "\n" : ""));
}

/** Reads the JSONL `specialist export` writes. */
export async function readExported(path: string): Promise<ExportedExample[]> {
  const content = await readFile(path, "utf8");
  return content
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as ExportedExample);
}
