/**
 * A small GGUF reader and writer for tests and benchmarks (no dependency on node-llama-cpp).
 *
 * Format (ggml-org/ggml docs/gguf.md; llama.cpp gguf-py/gguf/gguf_writer.py), little-endian:
 *
 *   header        magic "GGUF" (4 bytes), version u32 (3; 2 has the same layout), tensor_count u64,
 *                 metadata_kv_count u64
 *   metadata      kv_count × { key: string, value_type: u32, value }
 *                 string = u64 byte length + UTF-8 bytes (no NUL)
 *                 array  = item_type u32 + u64 count + items (arrays may nest)
 *   tensor infos  tensor_count × { name: string, n_dims u32, dims u64[n_dims], ggml_type u32,
 *                 offset u64 } — dims in ggml order: dims[0] (ne[0]) is the innermost, contiguous
 *                 one; offset is relative to the start of the data section and a multiple of
 *                 ALIGNMENT
 *   padding       0x00 up to the next multiple of ALIGNMENT
 *   tensor data   each tensor at its offset, each one padded with 0x00 to ALIGNMENT
 *
 * ALIGNMENT is the u32 metadata value `general.alignment` (a multiple of 8), 32 when absent.
 * ggml's loader also requires the tensors to be laid out back to back in tensor-info order
 * (offset of tensor i = sum of the padded sizes of tensors before it); the writer does that.
 *
 * Values keep their GGUF type so a file reads back exactly as written: 64-bit integers are
 * bigints, every other number is a JS number (float32 values are rounded to float32 when written).
 * Big-endian files are detected and refused.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'

export const GGUF_MAGIC = 'GGUF'
export const GGUF_VERSION = 3
export const GGUF_DEFAULT_ALIGNMENT = 32
/** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63
/** ggml's GGML_MAX_DIMS */
export const GGUF_MAX_DIMS = 4

/** GGUF metadata value types, by their numeric id in the file. */
export const GGUF_VALUE_TYPES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
] as const
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number]

/** An array value: its item type and items (an item of an array of arrays is itself a GgufArray). */
export interface GgufArray {
  itemType: GgufValueType
  value: GgufArrayItem[]
}
export type GgufArrayItem = number | bigint | boolean | string | GgufArray

export type GgufValue =
  | { type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'; value: number }
  | { type: 'uint64' | 'int64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | ({ type: 'array' } & GgufArray)

/** Metadata in file order (keys contain dots, so object key order is insertion order). */
export type GgufMetadata = Record<string, GgufValue>

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

/** ggml tensor types this module knows the size of (id → name). Others are read, sized unknown. */
export const GGML_TYPES: Record<number, { name: string; blockSize: number; blockBytes: number }> = {
  0: { name: 'F32', blockSize: 1, blockBytes: 4 },
  1: { name: 'F16', blockSize: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockSize: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockSize: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockSize: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockSize: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockSize: 32, blockBytes: 34 },
  9: { name: 'Q8_1', blockSize: 32, blockBytes: 36 },
  10: { name: 'Q2_K', blockSize: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockSize: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockSize: 256, blockBytes: 144 },
  13: { name: 'Q5_K', blockSize: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockSize: 256, blockBytes: 210 },
  15: { name: 'Q8_K', blockSize: 256, blockBytes: 292 },
  24: { name: 'I8', blockSize: 1, blockBytes: 1 },
  25: { name: 'I16', blockSize: 1, blockBytes: 2 },
  26: { name: 'I32', blockSize: 1, blockBytes: 4 },
  27: { name: 'I64', blockSize: 1, blockBytes: 8 },
  28: { name: 'F64', blockSize: 1, blockBytes: 8 },
  30: { name: 'BF16', blockSize: 1, blockBytes: 2 },
}
export const GGML_TYPE_F32 = 0

export interface GgufTensorInfo {
  name: string
  /** ggml order: dims[0] is the innermost (row length) */
  dims: number[]
  /** ggml type id (0 = F32; see GGML_TYPES) */
  type: number
  /** offset of the data, relative to the data section */
  offset: number
  /** offset of the data from the start of the file */
  fileOffset: number
  /** bytes of data, when the type is in GGML_TYPES */
  byteSize?: number
}

export interface GgufFile {
  version: number
  alignment: number
  metadata: GgufMetadata
  tensors: GgufTensorInfo[]
  /** file offset of the (aligned) data section */
  dataOffset: number
}

export class GgufFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GgufFormatError'
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Where the parser gets bytes from: a buffer, or a file read in chunks (only the header part). */
interface ByteSource {
  /** bytes [pos, pos + n) — throws GgufFormatError at end of input */
  read(pos: number, n: number): Buffer
  readonly size: number
}

function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read(pos, n) {
      if (pos + n > buf.length)
        throw new GgufFormatError(`unexpected end of data at byte ${pos} (wanted ${n} more bytes): truncated`)
      return buf.subarray(pos, pos + n)
    },
  }
}

/** Reads a file through a sliding window, so huge models are parsed without reading their data. */
function fileSource(fd: number, size: number): ByteSource {
  const CHUNK = 1 << 20
  let window = Buffer.alloc(0)
  let start = 0
  return {
    size,
    read(pos, n) {
      if (pos + n > size)
        throw new GgufFormatError(
          `unexpected end of file at byte ${pos} (wanted ${n} more bytes; the file has ${size}): truncated`,
        )
      if (pos < start || pos + n > start + window.length) {
        const len = Math.min(Math.max(CHUNK, n), size - pos)
        window = Buffer.alloc(len)
        let got = 0
        while (got < len) {
          const r = readSync(fd, window, got, len - got, pos + got)
          if (r === 0) break
          got += r
        }
        if (got < n) throw new GgufFormatError(`unexpected end of file at byte ${pos}: truncated`)
        start = pos
      }
      return window.subarray(pos - start, pos - start + n)
    },
  }
}

class Parser {
  pos = 0
  constructor(private readonly src: ByteSource) {}

  u8 = () => this.src.read(this.take(1), 1).readUInt8(0)
  i8 = () => this.src.read(this.take(1), 1).readInt8(0)
  u16 = () => this.src.read(this.take(2), 2).readUInt16LE(0)
  i16 = () => this.src.read(this.take(2), 2).readInt16LE(0)
  u32 = () => this.src.read(this.take(4), 4).readUInt32LE(0)
  i32 = () => this.src.read(this.take(4), 4).readInt32LE(0)
  f32 = () => this.src.read(this.take(4), 4).readFloatLE(0)
  f64 = () => this.src.read(this.take(8), 8).readDoubleLE(0)
  u64 = () => this.src.read(this.take(8), 8).readBigUInt64LE(0)
  i64 = () => this.src.read(this.take(8), 8).readBigInt64LE(0)

  /** a u64 that must fit a JS number and be at most `max` */
  count(what: string, max: number): number {
    const n = this.u64()
    if (n > BigInt(max))
      throw new GgufFormatError(
        `${what} ${n} at byte ${this.pos - 8} is more than the data left: the file is truncated or corrupt`,
      )
    return Number(n)
  }

  bool(): boolean {
    const b = this.u8()
    if (b > 1) throw new GgufFormatError(`invalid bool value ${b} at byte ${this.pos - 1}`)
    return b === 1
  }

  string(): string {
    const len = this.count('string length', this.src.size - this.pos - 8)
    const at = this.take(len)
    return new TextDecoder('utf-8', { fatal: true }).decode(this.src.read(at, len))
  }

  valueType(): GgufValueType {
    const id = this.u32()
    const t = GGUF_VALUE_TYPES[id]
    if (!t) throw new GgufFormatError(`unknown metadata value type ${id} at byte ${this.pos - 4}`)
    return t
  }

  item(type: GgufValueType): GgufArrayItem {
    switch (type) {
      case 'uint8':
        return this.u8()
      case 'int8':
        return this.i8()
      case 'uint16':
        return this.u16()
      case 'int16':
        return this.i16()
      case 'uint32':
        return this.u32()
      case 'int32':
        return this.i32()
      case 'float32':
        return this.f32()
      case 'float64':
        return this.f64()
      case 'uint64':
        return this.u64()
      case 'int64':
        return this.i64()
      case 'bool':
        return this.bool()
      case 'string':
        return this.string()
      case 'array':
        return this.array()
    }
  }

  array(): GgufArray {
    const itemType = this.valueType()
    // every item takes at least one byte: a cheap bound against corrupt counts
    const n = this.count('array length', this.src.size - this.pos - 8)
    const value: GgufArrayItem[] = new Array(n)
    for (let i = 0; i < n; i++) value[i] = this.item(itemType)
    return { itemType, value }
  }

  value(type: GgufValueType): GgufValue {
    if (type === 'array') return { type, ...this.array() }
    return { type, value: this.item(type) } as GgufValue
  }

  private take(n: number): number {
    const at = this.pos
    this.pos += n
    return at
  }
}

function parse(src: ByteSource): GgufFile {
  const p = new Parser(src)
  const magic = src.read(0, 4).toString('latin1')
  p.pos = 4
  if (magic !== GGUF_MAGIC)
    throw new GgufFormatError(`not a GGUF file (magic ${JSON.stringify(magic)}, expected "GGUF")`)
  const version = p.u32()
  if (version !== 2 && version !== 3) {
    if (version > 0xffff && version.toString(16).endsWith('0000'))
      throw new GgufFormatError('big-endian GGUF files are not supported')
    throw new GgufFormatError(`unsupported GGUF version ${version} (this reader handles 2 and 3)`)
  }
  const tensorCount = p.count('tensor count', src.size)
  const kvCount = p.count('metadata count', src.size)

  const metadata: GgufMetadata = Object.create(null) as GgufMetadata
  for (let i = 0; i < kvCount; i++) {
    const key = p.string()
    if (key in metadata) throw new GgufFormatError(`duplicate metadata key ${JSON.stringify(key)}`)
    metadata[key] = p.value(p.valueType())
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT
  const a = metadata['general.alignment']
  if (a) {
    if (a.type !== 'uint32' || a.value === 0 || a.value % 8 !== 0)
      throw new GgufFormatError(`general.alignment must be a uint32 multiple of 8, not ${a.type} ${String(a.value)}`)
    alignment = a.value
  }

  const infos: Omit<GgufTensorInfo, 'fileOffset'>[] = []
  const names = new Set<string>()
  for (let i = 0; i < tensorCount; i++) {
    const name = p.string()
    if (names.has(name)) throw new GgufFormatError(`duplicate tensor ${JSON.stringify(name)}`)
    names.add(name)
    const nDims = p.u32()
    if (nDims > GGUF_MAX_DIMS)
      throw new GgufFormatError(`tensor ${name} has ${nDims} dimensions (at most ${GGUF_MAX_DIMS})`)
    const dims: number[] = []
    for (let d = 0; d < nDims; d++) dims.push(p.count(`dimension ${d} of tensor ${name}`, Number.MAX_SAFE_INTEGER))
    const type = p.u32()
    const offset = p.count(`offset of tensor ${name}`, Number.MAX_SAFE_INTEGER)
    if (offset % alignment !== 0)
      throw new GgufFormatError(`tensor ${name} has offset ${offset}, not a multiple of the alignment ${alignment}`)
    const byteSize = tensorByteSize(type, dims)
    infos.push(byteSize === undefined ? { name, dims, type, offset } : { name, dims, type, offset, byteSize })
  }
  const dataOffset = alignUp(p.pos, alignment)
  const tensors = infos.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }))
  return { version, alignment, metadata, tensors, dataOffset }
}

/** Parses a whole GGUF file held in memory (header, metadata and tensor infos). */
export function parseGguf(buf: Buffer): GgufFile {
  return parse(bufferSource(buf))
}

/**
 * Reads the header, metadata and tensor infos of a GGUF file. Only the front of the file is read,
 * so this is cheap even for multi-gigabyte models. Throws GgufFormatError for a malformed file.
 */
export async function readGguf(file: string): Promise<GgufFile> {
  return readGgufSync(file)
}

export function readGgufSync(file: string): GgufFile {
  const fd = openSync(file, 'r')
  try {
    return parse(fileSource(fd, fstatSync(fd).size))
  } finally {
    closeSync(fd)
  }
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

/** Bytes a tensor of `type` and `dims` takes, or undefined for a type not in GGML_TYPES. */
export function tensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const t = GGML_TYPES[type]
  if (!t) return undefined
  const n = dims.reduce((a, b) => a * b, 1)
  const rowBlocks = (dims[0] ?? 1) / t.blockSize
  if (!Number.isInteger(rowBlocks)) return undefined
  return (n / t.blockSize) * t.blockBytes
}

export function alignUp(n: number, alignment: number): number {
  return n + ((alignment - (n % alignment)) % alignment)
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

/** The string value of a metadata key, or undefined if absent or not a string. */
export function metaString(gguf: Pick<GgufFile, 'metadata'>, key: string): string | undefined {
  const v = gguf.metadata[key]
  return v?.type === 'string' ? v.value : undefined
}
