/**
 * test/support/gguf.ts (reader and writer) and test/support/make-lora.ts: round trips, the real
 * stories260K model (MIRADOR_TEST_GGUF) read and cross-checked against node-llama-cpp's own GGUF
 * parser, and the shape of generated adapters.
 */
import { describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import {
  GgufFormatError,
  encodeGguf,
  gv,
  metaString,
  parseGguf,
  readGguf,
  readTensorF32,
  writeGguf,
  type GgufMetadata,
} from '../support/gguf.js'
import { makeLoraAdapter } from '../support/make-lora.js'
import { TEST_GGUF, describeGguf, itGguf } from '../support/test-gguf.js'

const GGUF = TEST_GGUF
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-gguf-'))
const ramp = (n: number, k = 1) => Float32Array.from({ length: n }, (_, i) => Math.fround((i - n / 2) * 0.125 * k))

/** one value of every type, nested arrays included */
const EVERY_TYPE: GgufMetadata = {
  'general.architecture': gv.str('llama'),
  'test.u8': gv.u8(255),
  'test.i8': gv.i8(-128),
  'test.u16': gv.u16(65535),
  'test.i16': gv.i16(-32768),
  'test.u32': gv.u32(4294967295),
  'test.i32': gv.i32(-2147483648),
  'test.f32': gv.f32(Math.fround(0.1)),
  'test.bool_true': gv.bool(true),
  'test.bool_false': gv.bool(false),
  'test.string': gv.str('Once upon a time — ünïcödé ✓'),
  'test.empty_string': gv.str(''),
  'test.u64': gv.u64(2n ** 64n - 1n),
  'test.i64': gv.i64(-(2n ** 63n)),
  'test.f64': gv.f64(Math.PI),
  'test.strings': gv.arr('string', ['a', '', 'ccc']),
  'test.floats': gv.arr('float32', [1.5, -2.25]),
  'test.empty': gv.arr('int32', []),
  'test.nested': gv.arr('array', [
    { itemType: 'uint8', value: [1, 2, 3] },
    { itemType: 'string', value: ['x'] },
    { itemType: 'array', value: [{ itemType: 'bool', value: [true] }] },
  ]),
}

describe('gguf.ts', () => {
  test('round trip: every metadata type, F32 tensors of 1–4 dims, back to back and aligned', async () => {
    const file = path.join(tmp, 'roundtrip.gguf')
    const tensors = [
      { name: 'a.weight', dims: [3], data: ramp(3) }, // 12 bytes: padded to 32
      { name: 'b.weight', dims: [5, 4], data: ramp(20, 2) },
      { name: 'c.weight', dims: [2, 3, 2], data: ramp(12, 3) },
      { name: 'd.weight', dims: [1, 2, 1, 8], data: ramp(16, 4) },
    ]
    const { bytes } = await writeGguf(file, { metadata: EVERY_TYPE, tensors })
    expect(statSync(file).size).toBe(bytes)

    const back = await readGguf(file)
    expect(back.version).toBe(3)
    expect(back.alignment).toBe(32)
    expect(back.metadata).toEqual(EVERY_TYPE)
    expect(Object.keys(back.metadata)).toEqual(Object.keys(EVERY_TYPE)) // order kept
    expect(back.dataOffset % 32).toBe(0)
    expect(back.tensors.map((t) => [t.name, t.dims, t.type, t.offset, t.byteSize])).toEqual([
      ['a.weight', [3], 0, 0, 12],
      ['b.weight', [5, 4], 0, 32, 80],
      ['c.weight', [2, 3, 2], 0, 128, 48],
      ['d.weight', [1, 2, 1, 8], 0, 192, 64],
    ])
    for (const t of tensors) expect(readTensorF32(file, back, t.name)).toEqual(t.data)
    // the file ends with the last tensor, padded to the alignment
    expect(bytes).toBe(back.dataOffset + 192 + 64)
    // in-memory parsing agrees with file reading
    expect(parseGguf(readFileSync(file))).toEqual(back)
  })

  test('general.alignment is honoured when set', () => {
    const buf = encodeGguf({
      metadata: { 'general.alignment': gv.u32(64), 'general.architecture': gv.str('llama') },
      tensors: [
        { name: 'x', dims: [3], data: ramp(3) },
        { name: 'y', dims: [2], data: ramp(2) },
      ],
    })
    const back = parseGguf(buf)
    expect(back.alignment).toBe(64)
    expect(back.dataOffset % 64).toBe(0)
    expect(back.tensors.map((t) => t.offset)).toEqual([0, 64])
    expect(buf.length).toBe(back.dataOffset + 128)
  })

  test('malformed input is a GgufFormatError that says what is wrong', () => {
    const good = encodeGguf({ metadata: EVERY_TYPE, tensors: [{ name: 't', dims: [4], data: ramp(4) }] })
    expect(() => parseGguf(Buffer.from('not a model at all, just text'))).toThrow(/not a GGUF file/)
    expect(() => parseGguf(good.subarray(0, 100))).toThrow(GgufFormatError)
    expect(() => parseGguf(good.subarray(0, 100))).toThrow(/truncated/)
    expect(() => parseGguf(good.subarray(0, 30))).toThrow(/truncated/)
    const v4 = Buffer.from(good)
    v4.writeUInt32LE(4, 4)
    expect(() => parseGguf(v4)).toThrow(/unsupported GGUF version 4/)
    const bigEndian = Buffer.from(good)
    bigEndian.writeUInt32BE(3, 4)
    expect(() => parseGguf(bigEndian)).toThrow(/big-endian/)
    const badAlign = encodeGguf({ metadata: { 'general.alignment': gv.u32(32) }, tensors: [] })
    const afterKeyAndType = badAlign.indexOf('general.alignment') + 'general.alignment'.length + 4
    badAlign.writeUInt32LE(12, afterKeyAndType)
    expect(() => parseGguf(badAlign)).toThrow(/general.alignment must be/)
  })

  test('the writer refuses inconsistent tensors and values', () => {
    const meta = { 'general.architecture': gv.str('llama') }
    expect(() => encodeGguf({ metadata: meta, tensors: [{ name: 't', dims: [3, 2], data: ramp(5) }] })).toThrow(
      /hold 6 values/,
    )
    expect(() => encodeGguf({ metadata: meta, tensors: [{ name: 'n'.repeat(64), dims: [1], data: ramp(1) }] })).toThrow(
      /longer than 63/,
    )
    expect(() =>
      encodeGguf({ metadata: meta, tensors: [{ name: 't', dims: [1, 1, 1, 1, 1], data: ramp(1) }] }),
    ).toThrow(/invalid dimensions/)
    expect(() => encodeGguf({ metadata: { 'x.y': gv.u8(256) }, tensors: [] })).toThrow(/not a valid uint8/)
    expect(() => encodeGguf({ metadata: { 'x.y': gv.arr('string', [1]) }, tensors: [] })).toThrow(/x\.y\[0\]/)
  })

  itGguf('reads the real base model: metadata and all 48 tensors, as node-llama-cpp reads them', async () => {
    const base = await readGguf(GGUF)
    expect(base.version).toBe(3)
    expect(metaString(base, 'general.architecture')).toBe('llama')
    const tokens = base.metadata['tokenizer.ggml.tokens']
    expect(tokens?.type === 'array' && tokens.itemType).toBe('string')
    expect(tokens?.type === 'array' && tokens.value.length).toBe(512)
    expect(base.tensors).toHaveLength(48)
    expect(base.tensors[0]).toMatchObject({
      name: 'token_embd.weight',
      dims: [64, 512],
      type: 0,
      offset: 0,
      byteSize: 64 * 512 * 4,
    })
    expect(base.tensors.find((t) => t.name === 'blk.0.attn_k.weight')?.dims).toEqual([64, 32])
    const last = base.tensors.at(-1)!
    expect(last.fileOffset + last.byteSize!).toBeLessThanOrEqual(statSync(GGUF).size)

    const { readGgufFileInfo } = await import('node-llama-cpp')
    const theirs = await readGgufFileInfo(GGUF, { logWarnings: false })
    expect(base.tensors.map((t) => [t.name, t.dims, t.type, t.offset, t.fileOffset])).toEqual(
      theirs.tensorInfo!.map((t) => [
        t.name,
        t.dimensions.map(Number),
        t.ggmlType,
        Number(t.offset),
        Number(t.fileOffset),
      ]),
    )

    const norm = readTensorF32(GGUF, base, 'output_norm.weight')
    expect(norm).toHaveLength(64)
    expect(norm.every(Number.isFinite)).toBe(true)
  })
})

describeGguf('make-lora.ts', () => {
  test('writes a LoRA adapter with the metadata and tensor shapes llama.cpp expects', async () => {
    const made = await makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'lora.gguf'), rank: 3, seed: 7 })
    expect(made).toEqual({ file: path.join(tmp, 'lora.gguf'), tensors: 40, bytes: statSync(made.file).size })
    const lora = await readGguf(made.file)
    expect(lora.metadata).toMatchObject({
      'general.architecture': gv.str('llama'),
      'general.type': gv.str('adapter'),
      'adapter.type': gv.str('lora'),
      'adapter.lora.alpha': gv.f32(3),
    })
    const base = await readGguf(GGUF)
    const byName = new Map(base.tensors.map((t) => [t.name, t]))
    const targets = base.tensors.filter((t) => /^blk\.\d+\.attn_(q|k|v|output)\.weight$/.test(t.name))
    expect(targets).toHaveLength(20)
    for (const w of targets) {
      const a = lora.tensors.find((t) => t.name === `${w.name}.lora_a`)!
      const b = lora.tensors.find((t) => t.name === `${w.name}.lora_b`)!
      // llama.cpp: a.ne[0] == w.ne[0], b.ne[1] == w.ne[1], a.ne[1] == b.ne[0] == rank
      expect(a.dims).toEqual([byName.get(w.name)!.dims[0], 3])
      expect(b.dims).toEqual([3, byName.get(w.name)!.dims[1]])
      const values = readTensorF32(made.file, lora, a.name)
      expect(values.every((v) => Math.abs(v) <= 0.25)).toBe(true)
      expect(new Set(values).size).toBeGreaterThan(1)
    }
  })

  test('is deterministic per seed, and the seed matters', async () => {
    const a1 = await makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'a1.gguf'), seed: 1 })
    const a2 = await makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'a2.gguf'), seed: 1 })
    const b = await makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'b.gguf'), seed: 2 })
    expect(readFileSync(a1.file).equals(readFileSync(a2.file))).toBe(true)
    expect(readFileSync(a1.file).equals(readFileSync(b.file))).toBe(false)
  })

  test('targets, alpha and magnitude are honoured; bad targets are refused', async () => {
    const made = await makeLoraAdapter({
      base: GGUF,
      out: path.join(tmp, 'ffn.gguf'),
      targets: ['blk.1.ffn_down.weight'],
      alpha: 8,
      magnitude: 0.01,
    })
    const lora = await readGguf(made.file)
    expect(lora.tensors.map((t) => [t.name, t.dims])).toEqual([
      ['blk.1.ffn_down.weight.lora_a', [172, 2]],
      ['blk.1.ffn_down.weight.lora_b', [2, 64]],
    ])
    expect(lora.metadata['adapter.lora.alpha']).toEqual(gv.f32(8))
    expect(readTensorF32(made.file, lora, 'blk.1.ffn_down.weight.lora_b').every((v) => Math.abs(v) <= 0.01)).toBe(true)
    await expect(
      makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'x.gguf'), targets: ['blk.9.attn_q.weight'] }),
    ).rejects.toThrow(/no tensor blk\.9/)
    await expect(
      makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'x.gguf'), targets: ['output_norm.weight'] }),
    ).rejects.toThrow(/2-D/)
    await expect(makeLoraAdapter({ base: made.file, out: path.join(tmp, 'x.gguf') })).rejects.toThrow(
      /itself an adapter/,
    )
    const notGguf = path.join(tmp, 'text.gguf')
    writeFileSync(notGguf, 'hello')
    await expect(makeLoraAdapter({ base: notGguf, out: path.join(tmp, 'x.gguf') })).rejects.toThrow(/not a GGUF file/)
  })

  test('runs as a CLI', async () => {
    const out = path.join(tmp, 'cli.gguf')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        './test/support/ts-loader.mjs',
        'test/support/make-lora.ts',
        '--base',
        GGUF,
        '--out',
        out,
        '--seed',
        '1',
        '--rank',
        '2',
      ],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
    )
    expect(JSON.parse(stdout)).toEqual({ file: out, tensors: 40, bytes: statSync(out).size })
    const viaApi = await makeLoraAdapter({ base: GGUF, out: path.join(tmp, 'api.gguf'), seed: 1, rank: 2 })
    expect(readFileSync(out).equals(readFileSync(viaApi.file))).toBe(true)
  }, 60_000)
})
