/**
 * A GGUF header reader that trusts nothing in the file: every count and length is checked against
 * the bytes left before anything is allocated or looped over, so a truncated download or a
 * corrupt (or hostile) file is a GgufFormatError saying what is wrong, never a hang, a huge
 * allocation or a silently zero-filled read. (node-llama-cpp's readGgufFileInfo reads past the end
 * of a file as zeros: a file cut inside its tensor table parses "fine", with empty tensor names.)
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
 * Only the front of a file (header, metadata, tensor infos) is read, through a 1 MB window, so a
 * multi-gigabyte model costs what its header costs. Values keep their GGUF type so a file reads
 * back exactly as written: 64-bit integers are bigints, every other number is a JS number.
 * Big-endian files are detected and refused. The data layout itself is checked in layout.ts.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { GGML_TYPES } from './ggml-types.js'

export { GGML_TYPES, GGML_TYPE_F32 } from './ggml-types.js'

export const GGUF_MAGIC = 'GGUF'
export const GGUF_DEFAULT_ALIGNMENT = 32
/** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63
/** ggml's GGML_MAX_DIMS */
export const GGUF_MAX_DIMS = 4
/** the smallest file that can hold a header: magic, version, two counts */
export const GGUF_HEADER_BYTES = 24

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

/** bytes of one fixed-size value; strings and arrays have none */
const FIXED_BYTES: Partial<Record<GgufValueType, number>> = {
  uint8: 1,
  int8: 1,
  bool: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  uint64: 8,
  int64: 8,
  float64: 8,
}

export interface GgufTensorInfo {
  name: string
  /** ggml order: dims[0] is the innermost (row length) */
  dims: number[]
  /** ggml type id (0 = F32; see ggml-types.ts) */
  type: number
  /** offset of the data, relative to the data section */
  offset: number
  /** offset of the data from the start of the file */
  fileOffset: number
  /** bytes of data, when the type is one ggml knows and the row fits its blocks */
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

/**
 * What is wrong with a file, worded for a person. `kind` lets callers choose their advice:
 * not-gguf (another format), version (a GGUF this reader cannot read), truncated (the file ends
 * early: re-download), corrupt (the bytes are there but wrong).
 */
export type GgufProblemKind = 'not-gguf' | 'version' | 'truncated' | 'corrupt'

export class GgufFormatError extends Error {
  constructor(
    message: string,
    readonly kind: GgufProblemKind = 'corrupt',
  ) {
    super(message)
    this.name = 'GgufFormatError'
  }
}

export interface GgufReadOptions {
  /**
   * Which metadata values to keep (default: all). The others are still walked and bounds-checked,
   * but not decoded: a checker can skip a large vocabulary (`tokenizer.*`) it has no use for.
   */
  keep?: (key: string) => boolean
}

/** Where the parser gets bytes from: a buffer, or a file read in chunks (only the header part). */
interface ByteSource {
  /** bytes [pos, pos + n) — throws GgufFormatError at end of input */
  read(pos: number, n: number): Buffer
  readonly size: number
}

const truncated = (pos: number, n: number, size: number) =>
  new GgufFormatError(
    `it ends at byte ${size}, inside its header (byte ${pos} needs ${n} more): the file is truncated`,
    'truncated',
  )

function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read(pos, n) {
      if (pos + n > buf.length) throw truncated(pos, n, buf.length)
      return buf.subarray(pos, pos + n)
    },
  }
}

/**
 * Reads a file through a sliding window, so huge models are parsed without reading their data. The
 * window starts at 64 KB (a small model's whole header) and doubles up to 1 MB (a large vocabulary).
 */
function fileSource(fd: number, size: number): ByteSource {
  let chunk = 64 << 10
  let window = Buffer.alloc(0)
  let start = 0
  return {
    size,
    read(pos, n) {
      if (pos + n > size) throw truncated(pos, n, size)
      if (pos < start || pos + n > start + window.length) {
        const len = Math.min(Math.max(chunk, n), size - pos)
        chunk = Math.min(chunk * 2, 1 << 20)
        window = Buffer.alloc(len)
        let got = 0
        while (got < len) {
          const r = readSync(fd, window, got, len - got, pos + got)
          if (r === 0) break
          got += r
        }
        // the file shrank since it was measured
        if (got < n) throw truncated(pos, n, pos + got)
        start = pos
      }
      return window.subarray(pos - start, pos - start + n)
    },
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** llama.cpp reads no nested arrays at all; the test writer nests three deep */
const MAX_ARRAY_DEPTH = 8

class Parser {
  pos = 0
  private depth = 0
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

  /** bytes after the current position */
  get left(): number {
    return Math.max(0, this.src.size - this.pos)
  }

  /**
   * A u64 count of things that each take at least `each` bytes of what is left: more than fits is
   * a truncated or corrupt file, caught before anything is allocated or looped over.
   */
  count(what: string, each: number): number {
    const at = this.pos
    const n = this.u64()
    if (n > BigInt(Math.floor(this.left / Math.max(1, each))))
      throw new GgufFormatError(
        `its ${what} at byte ${at} is ${n}, more than the ${this.left} bytes left in the file can hold: ` +
          'the file is truncated or corrupt',
        n > BigInt(this.src.size) ? 'corrupt' : 'truncated',
      )
    return Number(n)
  }

  /** a u64 that must fit a JS number (a dimension, an offset) */
  safe(what: string): number {
    const at = this.pos
    const n = this.u64()
    if (n > BigInt(Number.MAX_SAFE_INTEGER))
      throw new GgufFormatError(`its ${what} at byte ${at} is ${n}, far beyond any real model: the file is corrupt`)
    return Number(n)
  }

  bool(): boolean {
    const b = this.u8()
    if (b > 1) throw new GgufFormatError(`it has an invalid bool value ${b} at byte ${this.pos - 1}`)
    return b === 1
  }

  string(): string {
    const len = this.count('string length', 1)
    const at = this.take(len)
    try {
      return utf8.decode(this.src.read(at, len))
    } catch (err) {
      if (err instanceof GgufFormatError) throw err
      throw new GgufFormatError(`it has a string at byte ${at} that is not valid UTF-8: the file is corrupt`)
    }
  }

  valueType(): GgufValueType {
    const id = this.u32()
    const t = GGUF_VALUE_TYPES[id]
    if (!t) throw new GgufFormatError(`it has an unknown metadata value type ${id} at byte ${this.pos - 4}`)
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

  /** the smallest number of bytes one item of `type` takes (a string: its length; an array: type and count) */
  private static minBytes(type: GgufValueType): number {
    return FIXED_BYTES[type] ?? (type === 'string' ? 8 : 12)
  }

  array(): GgufArray {
    const itemType = this.valueType()
    const n = this.count('array length', Parser.minBytes(itemType))
    const value: GgufArrayItem[] = []
    this.nest(() => {
      for (let i = 0; i < n; i++) value.push(this.item(itemType))
    })
    return { itemType, value }
  }

  /** arrays of arrays, bounded: a file nesting them without end must not exhaust the stack */
  private nest(fn: () => void): void {
    if (++this.depth > MAX_ARRAY_DEPTH)
      throw new GgufFormatError(
        `it nests arrays more than ${MAX_ARRAY_DEPTH} deep at byte ${this.pos}: the file is corrupt`,
      )
    try {
      fn()
    } finally {
      this.depth--
    }
  }

  value(type: GgufValueType): GgufValue {
    if (type === 'array') return { type, ...this.array() }
    return { type, value: this.item(type) } as GgufValue
  }

  /** walks a value without decoding it, with the same bounds */
  skip(type: GgufValueType): void {
    const fixed = FIXED_BYTES[type]
    if (fixed !== undefined) {
      this.src.read(this.take(fixed), fixed)
      return
    }
    if (type === 'string') {
      const len = this.count('string length', 1)
      this.take(len)
      return
    }
    const itemType = this.valueType()
    const n = this.count('array length', Parser.minBytes(itemType))
    const each = FIXED_BYTES[itemType]
    if (each !== undefined) this.take(n * each)
    else
      this.nest(() => {
        for (let i = 0; i < n; i++) this.skip(itemType)
      })
  }

  private take(n: number): number {
    const at = this.pos
    this.pos += n
    return at
  }
}

function parse(src: ByteSource, options: GgufReadOptions): GgufFile {
  if (src.size < 4) throw truncated(0, 4, src.size)
  const magic = src.read(0, 4).toString('latin1')
  if (magic !== GGUF_MAGIC)
    throw new GgufFormatError(
      `it is not a GGUF file (it starts with ${JSON.stringify(magic)}, not "GGUF")`,
      magic === 'FUGG' ? 'corrupt' : 'not-gguf',
    )
  const p = new Parser(src)
  p.pos = 4
  const version = p.u32()
  if (version !== 2 && version !== 3) {
    if (version > 0xffff && version.toString(16).endsWith('0000'))
      throw new GgufFormatError('it is a big-endian GGUF file, which llama.cpp on this machine cannot load', 'version')
    throw new GgufFormatError(`it has an unsupported GGUF version ${version} (versions 2 and 3 exist)`, 'version')
  }
  // a tensor info takes at least 8 (name) + 4 (n_dims) + 4 (type) + 8 (offset) bytes; a pair 8 + 4
  const tensorCount = p.count('tensor count', 24)
  const kvCount = p.count('metadata count', 12)
  const keep = options.keep ?? (() => true)

  const metadata: GgufMetadata = Object.create(null) as GgufMetadata
  const seen = new Set<string>()
  for (let i = 0; i < kvCount; i++) {
    const key = p.string()
    if (seen.has(key)) throw new GgufFormatError(`it has the metadata key ${JSON.stringify(key)} twice`)
    seen.add(key)
    const type = p.valueType()
    if (key === 'general.alignment' || keep(key)) metadata[key] = p.value(type)
    else p.skip(type)
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
    if (names.has(name)) throw new GgufFormatError(`it has the tensor ${JSON.stringify(name)} twice`)
    names.add(name)
    const nDims = p.u32()
    if (nDims > GGUF_MAX_DIMS)
      throw new GgufFormatError(`its tensor ${name} has ${nDims} dimensions (ggml allows at most ${GGUF_MAX_DIMS})`)
    const dims: number[] = []
    for (let d = 0; d < nDims; d++) dims.push(p.safe(`dimension ${d} of tensor ${name}`))
    const type = p.u32()
    const offset = p.safe(`offset of tensor ${name}`)
    if (offset % alignment !== 0)
      throw new GgufFormatError(
        `its tensor ${name} has the data offset ${offset}, not a multiple of the alignment ${alignment}: ` +
          'the tensor table is corrupt',
      )
    const byteSize = tensorByteSize(type, dims)
    infos.push(byteSize === undefined ? { name, dims, type, offset } : { name, dims, type, offset, byteSize })
  }
  const dataOffset = alignUp(p.pos, alignment)
  const tensors = infos.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }))
  return { version, alignment, metadata, tensors, dataOffset }
}

/** Parses a whole GGUF file held in memory (header, metadata and tensor infos). */
export function parseGguf(buf: Buffer, options: GgufReadOptions = {}): GgufFile {
  return parse(bufferSource(buf), options)
}

/** Parses the header of the GGUF file open as `fd`, whose size is `size` (from fstat on that fd). */
export function readGgufFd(fd: number, size: number, options: GgufReadOptions = {}): GgufFile {
  return parse(fileSource(fd, size), options)
}

// O_NONBLOCK: opening a FIFO planted where a model should be must not hang (absent on Windows)
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

/**
 * Reads the header, metadata and tensor infos of a GGUF file. Only the front of the file is read,
 * so this is cheap even for multi-gigabyte models. Throws GgufFormatError for a malformed file or
 * one that is not a regular file, and the file system's error for one that cannot be opened.
 */
export function readGgufSync(file: string, options: GgufReadOptions = {}): GgufFile {
  const fd = openSync(file, OPEN_FLAGS)
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new GgufFormatError('it is not a regular file')
    return readGgufFd(fd, st.size, options)
  } finally {
    closeSync(fd)
  }
}

export async function readGguf(file: string, options: GgufReadOptions = {}): Promise<GgufFile> {
  return readGgufSync(file, options)
}

/**
 * Bytes a tensor of `type` and `dims` takes, or undefined for a type ggml does not know (or has
 * removed) or rows its blocks do not fit.
 */
export function tensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const t = GGML_TYPES[type]
  if (!t || t.removed) return undefined
  if ((dims[0] ?? 1) % t.blockSize !== 0) return undefined
  const n = dims.reduce((a, b) => a * b, 1)
  const bytes = (n / t.blockSize) * t.blockBytes
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

export function alignUp(n: number, alignment: number): number {
  return n + ((alignment - (n % alignment)) % alignment)
}

/** The string value of a metadata key, or undefined if absent or not a string. */
export function metaString(gguf: Pick<GgufFile, 'metadata'>, key: string): string | undefined {
  const v = gguf.metadata[key]
  return v?.type === 'string' ? v.value : undefined
}

/** The value of an integer metadata key as a number, or undefined if absent or not an integer. */
export function metaInteger(gguf: Pick<GgufFile, 'metadata'>, key: string): number | undefined {
  const v = gguf.metadata[key]
  if (!v || v.type === 'string' || v.type === 'array' || v.type === 'bool') return undefined
  const n = Number(v.value)
  return Number.isSafeInteger(n) ? n : undefined
}
