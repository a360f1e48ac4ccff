import { readFile } from "node:fs/promises";
import type { GgufTensor } from "./gguf-writer.js";

/**
 * Reads back the F32 tensors of a GGUF v3 file (what our writer produces), skipping the metadata: for checking a
 * committed model against the reference forward pass without the trainer's output at hand.
 */
export async function readGgufTensors(path: string): Promise<GgufTensor[]> {
  const buf = await readFile(path);
  let at = 0;
  const u32 = () => ((at += 4), buf.readUInt32LE(at - 4));
  const u64 = () => ((at += 8), Number(buf.readBigUInt64LE(at - 8)));
  const str = () => {
    const n = u64();
    at += n;
    return buf.toString("utf8", at - n, at);
  };
  const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skipValue = (type: number): void => {
    if (type === 8) str();
    else if (type === 9) {
      const inner = u32();
      const count = u64();
      for (let i = 0; i < count; i++) skipValue(inner);
    } else if (SIZES[type] !== undefined) at += SIZES[type]!;
    else throw new Error(`${path}: unknown metadata type ${type}`);
  };
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${path}: not a GGUF file`);
  at = 4;
  if (u32() !== 3) throw new Error(`${path}: only GGUF v3 is read`);
  const tensorCount = u64();
  const kvCount = u64();
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    if (key === "general.alignment" && type === 4) alignment = buf.readUInt32LE(at);
    skipValue(type);
  }
  const infos = Array.from({ length: tensorCount }, () => {
    const name = str();
    const dims = Array.from({ length: u32() }, () => u64());
    const type = u32();
    const offset = u64();
    if (type !== 0) throw new Error(`${path}: tensor ${name} is not F32`);
    return { name, dims, offset };
  });
  const dataStart = Math.ceil(at / alignment) * alignment;
  return infos.map(({ name, dims, offset }) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const start = dataStart + offset;
    if (start + count * 4 > buf.length) throw new Error(`${path}: tensor ${name} runs past the end of the file`);
    return { name, dims, data: new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + count * 4)) };
  });
}
