import { writeFile } from "node:fs/promises";

/** GGUF value types (GGUF v3). */
const T = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;

export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: string[] }
  | { type: "f32[]"; value: ArrayLike<number> }
  | { type: "i32[]"; value: ArrayLike<number> };

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (input) size, so [in, out] is a row-major PyTorch [out, in]. */
  dims: number[];
  data: Float32Array;
}

const ALIGNMENT = 32;

/** Little-endian byte sink that grows as needed. */
class Bytes {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
  u32(v: number) { this.reserve(4); this.buffer.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.reserve(4); this.buffer.writeInt32LE(v, this.length); this.length += 4; }
  u64(v: number) { this.reserve(8); this.buffer.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  f32(v: number) { this.reserve(4); this.buffer.writeFloatLE(v, this.length); this.length += 4; }
  u8(v: number) { this.reserve(1); this.buffer.writeUInt8(v, this.length); this.length += 1; }
  string(s: string) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.raw(b); }
  raw(b: Uint8Array) { this.reserve(b.length); this.buffer.set(b, this.length); this.length += b.length; }
  pad(to: number) { const n = (to - (this.length % to)) % to; this.reserve(n); this.buffer.fill(0, this.length, this.length + n); this.length += n; }
  bytes(): Buffer { return this.buffer.subarray(0, this.length); }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case "u32": out.u32(T.u32); out.u32(v.value); break;
    case "i32": out.u32(T.i32); out.i32(v.value); break;
    case "f32": out.u32(T.f32); out.f32(v.value); break;
    case "bool": out.u32(T.bool); out.u8(v.value ? 1 : 0); break;
    case "string": out.u32(T.string); out.string(v.value); break;
    case "string[]": out.u32(T.array); out.u32(T.string); out.u64(v.value.length); for (const s of v.value) out.string(s); break;
    case "f32[]": out.u32(T.array); out.u32(T.f32); out.u64(v.value.length); for (let i = 0; i < v.value.length; i++) out.f32(v.value[i]!); break;
    case "i32[]": out.u32(T.array); out.u32(T.i32); out.u64(v.value.length); for (let i = 0; i < v.value.length; i++) out.i32(v.value[i]!); break;
  }
}

/**
 * A GGUF v3 file with F32 tensors: header, metadata, tensor infos (offsets relative to the aligned data section),
 * then each tensor padded to the alignment. llama.cpp checks metadata types strictly, hence the typed values.
 */
export function encodeGguf(metadata: Record<string, GgufValue>, tensors: GgufTensor[]): Buffer {
  const out = new Bytes();
  out.raw(Buffer.from("GGUF", "ascii"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const t of tensors) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${t.name}: dims ${t.dims.join("×")} hold ${count} values, data has ${t.data.length}`);
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(0); // F32
    out.u64(offset);
    offset += Math.ceil((count * 4) / ALIGNMENT) * ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  for (const t of tensors) {
    out.raw(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.pad(ALIGNMENT);
  }
  return out.bytes();
}

export async function writeGguf(path: string, metadata: Record<string, GgufValue>, tensors: GgufTensor[]): Promise<void> {
  await writeFile(path, encodeGguf(metadata, tensors));
}
