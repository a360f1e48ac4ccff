import { createReadStream } from "node:fs";
import { open, readFile, truncate } from "node:fs/promises";

/** Appends whole lines to one file, one after the other, so a crash leaves at most a last line without its newline. */
export interface LineAppender {
  append(line: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A JSONL file's non-empty lines with their 1-based numbers. Split by hand on newlines, which JSON never holds raw:
 * readline cost the batch runner a twelfth of its main thread.
 */
export async function* jsonlLines(path: string): AsyncGenerator<{ text: string; number: number }> {
  let rest = "";
  let number = 0;
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      number++;
      const line = text.slice(start, end).replace(/\r$/, "");
      if (line.trim() !== "") yield { text: line, number };
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest.trim() !== "") yield { text: rest.replace(/\r$/, ""), number: number + 1 };
}

/**
 * How many lines `jsonlLines` yields (those holding more than white space), counted on the bytes: decoding a large
 * input only to count it cost the batch runner a tenth of its main thread.
 */
export async function countJsonlLines(path: string): Promise<number> {
  let count = 0;
  let blank = true;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 10) {
        if (!blank) count++;
        blank = true;
      } else if (blank && b !== 32 && b !== 9 && b !== 13) blank = false;
    }
  }
  return blank ? count : count + 1;
}

/** The complete lines of a file being appended to (none when it does not exist); a last line a crash cut is removed first. */
export async function completeLines(path: string): Promise<string[]> {
  const content = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  const end = content.lastIndexOf("\n") + 1;
  if (end < content.length) await truncate(path, Buffer.byteLength(content.slice(0, end)));
  return content.slice(0, end).split("\n").filter((l) => l !== "");
}

/**
 * Lines waiting while a write runs go out together in the next one: one write per line cost the batch runner about
 * 170 µs of main thread each. Each `append` resolves once its line is written.
 */
export async function lineAppender(path: string): Promise<LineAppender> {
  const handle = await open(path, "a");
  let pending: Array<{ line: string; done: () => void; failed: (error: unknown) => void }> = [];
  let writing: Promise<void> | undefined;
  const flush = async () => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await handle.write(batch.map((p) => `${p.line}\n`).join(""));
        for (const p of batch) p.done();
      } catch (error) {
        for (const p of batch) p.failed(error);
      }
    }
    writing = undefined;
  };
  return {
    append: (line) =>
      new Promise<void>((done, failed) => {
        pending.push({ line, done, failed });
        writing ??= flush();
      }),
    close: async () => {
      await writing;
      await handle.close();
    },
  };
}
