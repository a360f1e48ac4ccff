import { mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckedFiles, checkedFilesFor } from "../../server/backends/checked-files.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "checked-files-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("files that passed a slow check", () => {
  it("remembers a file as it is, and forgets it once its size, time or first bytes change", async () => {
    const model = join(dir, "model.gguf");
    await writeFile(model, "GGUF version 3, tensors…");
    const checked = new CheckedFiles(join(dir, "cache", "checked.json"));
    expect(await checked.passed(model)).toBe(false);
    await checked.remember(model);
    expect(await checked.passed(model)).toBe(true);
    // Another instance (a restart) reads the same file.
    expect(await new CheckedFiles(join(dir, "cache", "checked.json")).passed(model)).toBe(true);

    // Same size and modification time, other bytes: the hash of the head tells.
    const { mtime, atime } = await stat(model);
    await writeFile(model, "GGUF version 3, TENSORS…");
    await utimes(model, atime, mtime);
    expect(await checked.passed(model)).toBe(false);
    await checked.remember(model);
    // Touched only: the time tells.
    await utimes(model, atime, new Date(mtime.getTime() + 5_000));
    expect(await checked.passed(model)).toBe(false);
  });

  it("starts again from a damaged cache file, and never fails when it cannot write one", async () => {
    const model = join(dir, "other.gguf");
    await writeFile(model, "GGUF");
    const cache = join(dir, "damaged.json");
    await writeFile(cache, "{ not json");
    const checked = new CheckedFiles(cache);
    expect(await checked.passed(model)).toBe(false);
    await checked.remember(model);
    expect(await checked.passed(model)).toBe(true);
    // Its folder cannot be made (a file is in the way), as on a read-only home.
    await writeFile(join(dir, "in-the-way"), "");
    const unwritable = new CheckedFiles(join(dir, "in-the-way", "checked.json"));
    await expect(unwritable.remember(model)).resolves.toBeUndefined();
    expect(await unwritable.passed(model)).toBe(false);
    expect(checkedFilesFor(false)).toEqual({});
  });
});
