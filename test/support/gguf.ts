/**
 * A small GGUF writer for tests and benchmarks, and the reader they share with Mirador
 * (src/lib/gguf/read.ts, re-exported here): no dependency on node-llama-cpp. The format is
 * described in src/lib/gguf/read.ts. The writer lays tensors out back to back in tensor-info
 * order, each padded to the alignment, as ggml's loader requires.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readSync, writeSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import {
  GGML_TYPES,
  GGML_TYPE_F32,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GGUF_MAX_TENSOR_NAME_BYTES,
  GGUF_VALUE_TYPES,
  GgufFormatError,
  alignUp,
  type GgufArrayItem,
  type GgufFile,
  type GgufMetadata,
  type GgufValue,
  type GgufValueType,
} from '../../src/lib/gguf/read.js'

export * from '../../src/lib/gguf/read.js'
export const GGUF_VERSION = 3

/** Shorthands for building metadata values. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: 'uint8', value }),
  i8: (value: number): GgufValue => ({ type: 'int8', value }),
  u16: (value: number): GgufValue => ({ type: 'uint16', value }),
  i16: (value: number): GgufValue => ({ type: 'int16', value }),
  u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  i32: (value: number): GgufValue => ({ type: 'int32', value }),
  f32: (value: number): GgufValue => ({ type: 'float32', value }),
  f64: (value: number): GgufValue => ({ type: 'float64', value }),
  u64: (value: bigint | number): GgufValue => ({ type: 'uint64', value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: 'int64', value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  arr: (itemType: GgufValueType, value: GgufArrayItem[]): GgufValue => ({ type: 'array', itemType, value }),
}

/** The raw bytes of one tensor. */
export function readTensorBytes(file: string, gguf: GgufFile, name: string): Buffer {
  const t = gguf.tensors.find((x) => x.name === name)
  if (!t) throw new GgufFormatError(`no tensor ${JSON.stringify(name)}`)
  if (t.byteSize === undefined)
    throw new GgufFormatError(`tensor ${name} has ggml type ${t.type}, whose size this reader does not know`)
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(t.byteSize)
    let got = 0
    while (got < buf.length) {
      const r = readSync(fd, buf, got, buf.length - got, t.fileOffset + got)
      if (r === 0) throw new GgufFormatError(`tensor ${name} runs past the end of the file`)
      got += r
    }
    return buf
  } finally {
    closeSync(fd)
  }
}

/** The values of an F32 tensor. */
export function readTensorF32(file: string, gguf: GgufFile, name: string): Float32Array {
  const t = gguf.tensors.find((x) => x.name === name)
  if (t && t.type !== GGML_TYPE_F32)
    throw new GgufFormatError(`tensor ${name} is ${GGML_TYPES[t.type]?.name ?? `type ${t.type}`}, not F32`)
  const bytes = readTensorBytes(file, gguf, name)
  const out = new Float32Array(bytes.length / 4)
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4)
  return out
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface GgufF32Tensor {
  name: string
  /** ggml order: dims[0] is the innermost; product must equal data.length */
  dims: number[]
  data: Float32Array
}

export interface GgufWriteInput {
  metadata: GgufMetadata
  tensors: GgufF32Tensor[]
}

class Writer {
  private chunks: Buffer[] = []
  length = 0

  push(b: Buffer): void {
    this.chunks.push(b)
    this.length += b.length
  }
  private num(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size)
    write(b)
    this.push(b)
  }
  u8 = (v: number) => this.num(1, (b) => b.writeUInt8(v))
  i8 = (v: number) => this.num(1, (b) => b.writeInt8(v))
  u16 = (v: number) => this.num(2, (b) => b.writeUInt16LE(v))
  i16 = (v: number) => this.num(2, (b) => b.writeInt16LE(v))
  u32 = (v: number) => this.num(4, (b) => b.writeUInt32LE(v))
  i32 = (v: number) => this.num(4, (b) => b.writeInt32LE(v))
  f32 = (v: number) => this.num(4, (b) => b.writeFloatLE(v))
  f64 = (v: number) => this.num(8, (b) => b.writeDoubleLE(v))
  u64 = (v: bigint | number) => this.num(8, (b) => b.writeBigUInt64LE(BigInt(v)))
  i64 = (v: bigint) => this.num(8, (b) => b.writeBigInt64LE(v))

  string(s: string): void {
    const b = Buffer.from(s, 'utf8')
    this.u64(b.length)
    this.push(b)
  }

  pad(alignment: number): void {
    const n = alignUp(this.length, alignment) - this.length
    if (n) this.push(Buffer.alloc(n))
  }

  item(type: GgufValueType, v: GgufArrayItem, where: string): void {
    const bad = () => new GgufFormatError(`${where}: ${typeof v} ${String(v)} is not a valid ${type}`)
    const int = (min: number, max: number) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad()
      return v
    }
    switch (type) {
      case 'uint8':
        return this.u8(int(0, 0xff))
      case 'int8':
        return this.i8(int(-0x80, 0x7f))
      case 'uint16':
        return this.u16(int(0, 0xffff))
      case 'int16':
        return this.i16(int(-0x8000, 0x7fff))
      case 'uint32':
        return this.u32(int(0, 0xffffffff))
      case 'int32':
        return this.i32(int(-0x80000000, 0x7fffffff))
      case 'float32':
      case 'float64':
        if (typeof v !== 'number') throw bad()
        return type === 'float32' ? this.f32(v) : this.f64(v)
      case 'uint64':
        if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw bad()
        return this.u64(v)
      case 'int64':
        if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 63n) throw bad()
        return this.i64(v)
      case 'bool':
        if (typeof v !== 'boolean') throw bad()
        return this.u8(v ? 1 : 0)
      case 'string':
        if (typeof v !== 'string') throw bad()
        return this.string(v)
      case 'array': {
        if (typeof v !== 'object' || v === null || !Array.isArray(v.value)) throw bad()
        this.u32(GGUF_VALUE_TYPES.indexOf(v.itemType))
        this.u64(v.value.length)
        v.value.forEach((x, i) => this.item(v.itemType, x, `${where}[${i}]`))
        return
      }
    }
  }

  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length)
  }
}

/**
 * Encodes a GGUF v3 file: the metadata in the given order, then F32 tensors laid out back to back,
 * each at an offset that is a multiple of the alignment (`general.alignment` if the metadata sets
 * it, else 32) and padded to it.
 */
export function encodeGguf(input: GgufWriteInput): Buffer {
  const entries = Object.entries(input.metadata)
  let alignment = GGUF_DEFAULT_ALIGNMENT
  const a = input.metadata['general.alignment']
  if (a) {
    if (a.type !== 'uint32' || a.value === 0 || a.value % 8 !== 0)
      throw new GgufFormatError('general.alignment must be a uint32 multiple of 8')
    alignment = a.value
  }

  const w = new Writer()
  w.push(Buffer.from(GGUF_MAGIC, 'latin1'))
  w.u32(GGUF_VERSION)
  w.u64(input.tensors.length)
  w.u64(entries.length)
  for (const [key, v] of entries) {
    w.string(key)
    w.u32(GGUF_VALUE_TYPES.indexOf(v.type))
    if (v.type === 'array') w.item('array', { itemType: v.itemType, value: v.value }, key)
    else w.item(v.type, v.value, key)
  }

  const names = new Set<string>()
  let offset = 0
  const offsets: number[] = []
  for (const t of input.tensors) {
    if (names.has(t.name)) throw new GgufFormatError(`duplicate tensor ${t.name}`)
    names.add(t.name)
    if (Buffer.byteLength(t.name) > GGUF_MAX_TENSOR_NAME_BYTES)
      throw new GgufFormatError(`tensor name ${t.name} is longer than ${GGUF_MAX_TENSOR_NAME_BYTES} bytes`)
    if (t.dims.length === 0 || t.dims.length > GGUF_MAX_DIMS || !t.dims.every((d) => Number.isInteger(d) && d > 0))
      throw new GgufFormatError(`tensor ${t.name} has invalid dimensions [${t.dims.join(', ')}]`)
    const n = t.dims.reduce((x, y) => x * y, 1)
    if (n !== t.data.length)
      throw new GgufFormatError(
        `tensor ${t.name}: dims [${t.dims.join(', ')}] hold ${n} values, data has ${t.data.length}`,
      )
    w.string(t.name)
    w.u32(t.dims.length)
    for (const d of t.dims) w.u64(d)
    w.u32(GGML_TYPE_F32)
    w.u64(offset)
    offsets.push(offset)
    offset = alignUp(offset + t.data.length * 4, alignment)
  }
  w.pad(alignment)

  for (const t of input.tensors) {
    const b = Buffer.alloc(t.data.length * 4)
    for (let i = 0; i < t.data.length; i++) b.writeFloatLE(t.data[i]!, i * 4)
    w.push(b)
    w.pad(alignment)
  }
  return w.concat()
}

/** Writes a GGUF v3 file (see encodeGguf); resolves with its size in bytes. */
export async function writeGguf(file: string, input: GgufWriteInput): Promise<{ bytes: number }> {
  const buf = encodeGguf(input)
  await writeFile(file, buf)
  return { bytes: buf.length }
}

/**
 * A valid GGUF of one F32 tensor holding about `bytes` bytes of random data, written in 4 MB chunks
 * (never whole in memory), for hashing at scale; returns the file's size. Not a model llama.cpp can run.
 */
export function writeLargeGguf(file: string, bytes: number): number {
  const values = Math.floor(bytes / 4 / 32) * 32
  const small = encodeGguf({
    metadata: { 'general.architecture': gv.str('llama'), 'general.name': gv.str('bench') },
    tensors: [{ name: 'big.weight', dims: [8], data: new Float32Array(8) }],
  })
  const header = Buffer.from(small.subarray(0, small.length - 32)) // the tensor data (8 floats) padded to 32
  header.writeBigUInt64LE(BigInt(values), header.indexOf('big.weight') + 'big.weight'.length + 4)
  const fd = openSync(file, 'w')
  try {
    writeSync(fd, header)
    const chunk = randomBytes(4 << 20)
    for (let left = values * 4; left > 0; left -= chunk.length) {
      chunk.writeUInt32LE(left, 0) // no two chunks alike
      writeSync(fd, chunk, 0, Math.min(chunk.length, left))
    }
  } finally {
    closeSync(fd)
  }
  return header.length + values * 4
}
