import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Appends whole lines to one file, one after the other, so a crash leaves at most a last line without its newline. */
export interface LineAppender {
  append(line: string): Promise<void>;
  close(): Promise<void>;
}

/** The contents of the Batch API's files: one `<id>.jsonl` per file in a folder. */
export class FileFolder {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  path(id: string): string {
    return join(this.dir, `${id}.jsonl`);
  }

  /** Writes an upload under a temporary name and gives it its id's name only once complete. */
  async save(id: string, content: Readable): Promise<number> {
    const partial = join(this.dir, `${id}.partial`);
    try {
      await pipeline(content, createWriteStream(partial));
      await rename(partial, this.path(id));
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return (await stat(this.path(id))).size;
  }

  async bytes(id: string): Promise<number> {
    return (await stat(this.path(id)).catch(() => ({ size: 0 }))).size;
  }

  read(id: string): Readable {
    return createReadStream(this.path(id));
  }

  /** Non-empty lines with their 1-based numbers. */
  async *lines(id: string): AsyncGenerator<{ text: string; number: number }> {
    const reader = createInterface({ input: createReadStream(this.path(id)), crlfDelay: Infinity });
    let number = 0;
    for await (const text of reader) {
      number++;
      if (text.trim() !== "") yield { text, number };
    }
  }

  /** The complete lines of a file being appended to; a last line cut by a crash (no newline) is removed first. */
  async completeLines(id: string): Promise<string[]> {
    const path = this.path(id);
    const content = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const end = content.lastIndexOf("\n") + 1;
    if (end < content.length) await truncate(path, Buffer.byteLength(content.slice(0, end)));
    return content.slice(0, end).split("\n").filter((l) => l !== "");
  }

  async appender(id: string): Promise<LineAppender> {
    const handle = await open(this.path(id), "a");
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

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }
}
