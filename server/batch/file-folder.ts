import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { completeLines, countJsonlLines, jsonlLines, lineAppender, type LineAppender } from "./jsonl-file.js";

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

  lines(id: string): AsyncGenerator<{ text: string; number: number }> {
    return jsonlLines(this.path(id));
  }

  countLines(id: string): Promise<number> {
    return countJsonlLines(this.path(id));
  }

  completeLines(id: string): Promise<string[]> {
    return completeLines(this.path(id));
  }

  appender(id: string): Promise<LineAppender> {
    return lineAppender(this.path(id));
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }
}
