import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { ServingError } from "../errors/registry.js";
import type { LabelledExample } from "./example.js";

export interface LabelledFileOptions {
  textField?: string;
  labelField?: string;
  categoryField?: string;
}

/** Reads JSONL (one object a line) or CSV with a header row. Every bad row is reported with its line number. */
export async function readLabelledFile(path: string, options: LabelledFileOptions = {}): Promise<LabelledExample[]> {
  const textField = options.textField ?? "text";
  const labelField = options.labelField ?? "label";
  const content = await readFile(path, "utf8");
  const ext = extname(path).toLowerCase();
  const rows: Array<{ line: number; row: Record<string, unknown> }> = [];
  if (ext === ".csv") {
    const records = parseCsv(content, { columns: true, skip_empty_lines: true, info: true }) as Array<{
      record: Record<string, unknown>;
      info: { lines: number };
    }>;
    for (const r of records) rows.push({ line: r.info.lines, row: r.record });
  } else if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") {
    content.split("\n").forEach((text, i) => {
      if (!text.trim()) return;
      try {
        rows.push({ line: i + 1, row: JSON.parse(text) as Record<string, unknown> });
      } catch (cause) {
        throw new ServingError("ERR_DATA_INVALID", `${path}:${i + 1}: not valid JSON (${(cause as Error).message})`);
      }
    });
  } else {
    throw new ServingError("ERR_DATA_INVALID", `${path}: unsupported extension '${ext}', use .jsonl or .csv`);
  }
  return rows.map(({ line, row }, i) => {
    const text = row[textField];
    const label = row[labelField];
    if (typeof text !== "string") {
      throw new ServingError("ERR_DATA_INVALID", `${path}:${line}: field '${textField}' must be a string`);
    }
    if (typeof label !== "string" && typeof label !== "number") {
      throw new ServingError("ERR_DATA_INVALID", `${path}:${line}: field '${labelField}' must be a string or number`);
    }
    const category = options.categoryField ? row[options.categoryField] : undefined;
    const example: LabelledExample = { id: String(row.id ?? i), text, label: String(label) };
    if (category !== undefined && category !== null) example.category = String(category);
    return example;
  });
}
