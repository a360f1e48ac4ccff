import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countJsonlLines, jsonlLines } from "../../server/batch/jsonl-file.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "jsonl-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function both(content: string): Promise<{ counted: number; read: number }> {
  const path = join(dir, "f.jsonl");
  await writeFile(path, content);
  let read = 0;
  for await (const _ of jsonlLines(path)) read++;
  return { counted: await countJsonlLines(path), read };
}

describe("countJsonlLines", () => {
  it.each([
    ["", 0],
    ["\n\n", 0],
    ['{"a":1}', 1],
    ['{"a":1}\n', 1],
    ['{"a":1}\r\n \t\r\n{"b":"é 中"}\r\n', 2],
    ['{"a":1}\n   \n{"b":2}', 2],
    [`${'{"x":"'.concat("y".repeat(3 << 20), '"}')}\n{"z":1}\n`, 2],
  ])("counts the lines jsonlLines yields (%#)", async (content, expected) => {
    expect(await both(content)).toEqual({ counted: expected, read: expected });
  });
});
