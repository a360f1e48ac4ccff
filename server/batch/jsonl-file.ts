import { createReadStream } from "node:fs";
import { open, readFile, truncate } from "node:fs/promises";
import { createInterface } from "node:readline";

/** Appends whole lines to one file, one after the other, so a crash leaves at most a last line without its newline. */
export interface LineAppender {
  append(line: string): Promise<void>;
  close(): Promise<void>;
}

/** A JSONL file's non-empty lines with their 1-based numbers. */
export async function* jsonlLines(path: string): AsyncGenerator<{ text: string; number: number }> {
  const reader = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  for await (const text of reader) {
    number++;
    if (text.trim() !== "") yield { text, number };
  }
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

export async function lineAppender(path: string): Promise<LineAppender> {
  const handle = await open(path, "a");
  let last: Promise<unknown> = Promise.resolve();
  return {
    append: (line) => {
      const write = last.then(() => handle.write(`${line}\n`));
      last = write.catch(() => undefined);
      return write.then(() => undefined);
    },
    close: async () => {
      await last;
      await handle.close();
    },
  };
}
