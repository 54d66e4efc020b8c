/**
 * src/lib/gguf on hand-made hostile and damaged files (no test model needed): counts and lengths
 * that claim more than the file holds fail at once, without allocating or looping; values skipped
 * unread are still bounds-checked; the data layout check catches what llama.cpp would refuse.
 */
import { describe, expect, test } from '@jest/globals'
import { checkGgufLayout } from '../../src/lib/gguf/layout.js'
import { loraBaseProblem, loraKindProblem } from '../../src/lib/gguf/lora.js'
import { GgufFormatError, parseGguf } from '../../src/lib/gguf/read.js'
import { encodeGguf, gv } from '../support/gguf.js'

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i / 8)
const meta = { 'general.architecture': gv.str('llama') }

function fileWith(tensors: { name: string; dims: number[] }[], metadata = meta): Buffer {
  return encodeGguf({
    metadata,
    tensors: tensors.map((t) => ({ ...t, data: ramp(t.dims.reduce((a, b) => a * b, 1)) })),
  })
}

/** position just after tensor `name`'s name in the tensor table */
function afterName(buf: Buffer, name: string): number {
  const at = buf.lastIndexOf(Buffer.from(name))
  expect(buf.readBigUInt64LE(at - 8)).toBe(BigInt(name.length))
  return at + name.length
}

function problem(fn: () => unknown): GgufFormatError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(GgufFormatError)
    return err as GgufFormatError
  }
  throw new Error('expected a GgufFormatError')
}

describe('read.ts refuses counts the file cannot hold', () => {
  const good = fileWith([{ name: 'a.weight', dims: [8, 2] }])

  test.each([
    ['tensor count', 8, 2n ** 40n, /tensor count at byte 8 is 1099511627776, more than the \d+ bytes left/],
    ['metadata count', 16, 2n ** 62n, /metadata count at byte 16 is \d+, more than/],
    ['key length', 24, 2n ** 50n, /string length at byte 24 is \d+, more than/],
  ])('a huge %s fails at once, as corrupt', (_what, at, value, pattern) => {
    const buf = Buffer.from(good)
    buf.writeBigUInt64LE(value, at)
    const e = problem(() => parseGguf(buf))
    expect(e.message).toMatch(pattern)
    expect(e.kind).toBe('corrupt')
  })

  test('an array longer than the bytes left fails, decoded or skipped', () => {
    const buf = encodeGguf({
      metadata: { ...meta, 'tokenizer.ggml.scores': gv.arr('float32', [1, 2, 3]) },
      tensors: [],
    })
    const countAt = buf.indexOf(Buffer.from('tokenizer.ggml.scores')) + 'tokenizer.ggml.scores'.length + 4 + 4
    expect(buf.readBigUInt64LE(countAt)).toBe(3n)
    buf.writeBigUInt64LE(1_000_000n, countAt)
    expect(problem(() => parseGguf(buf)).message).toMatch(/array length at byte \d+ is 1000000, more than/)
    const skipping = { keep: (k: string) => !k.startsWith('tokenizer.') }
    expect(problem(() => parseGguf(buf, skipping)).message).toMatch(/array length .* is 1000000/)
    // a value skipped is not kept, a value kept is
    const ok = encodeGguf({ metadata: { ...meta, 'tokenizer.ggml.model': gv.str('llama') }, tensors: [] })
    expect(Object.keys(parseGguf(ok, skipping).metadata)).toEqual(['general.architecture'])
  })

  test('arrays nested past 8 levels are refused, not recursed into', () => {
    type Nested = { itemType: 'array' | 'uint8'; value: unknown[] }
    let v: Nested = { itemType: 'uint8', value: [1] }
    for (let i = 0; i < 12; i++) v = { itemType: 'array', value: [v] }
    const buf = encodeGguf({ metadata: { deep: gv.arr('array', v.value as never) }, tensors: [] })
    expect(problem(() => parseGguf(buf)).message).toMatch(/nests arrays more than 8 deep/)
  })

  test('a header cut short is truncated; a wrong magic is not GGUF', () => {
    expect(problem(() => parseGguf(good.subarray(0, 40))).kind).toBe('truncated')
    expect(problem(() => parseGguf(Buffer.from('PK\x03\x04 a zip file, not a model'))).kind).toBe('not-gguf')
  })
})

describe('layout.ts checks tensor data against the file', () => {
  const two = [
    { name: 'a.weight', dims: [32, 2] },
    { name: 'b.weight', dims: [32] },
  ]

  test('a good file passes and ends where its last tensor does', () => {
    const buf = fileWith(two)
    const g = parseGguf(buf)
    expect(checkGgufLayout(g, buf.length)).toEqual({ dataBytes: 256 + 128, end: g.dataOffset + 256 + 128 })
  })

  test('data past the end is truncated; a gap between tensors is a corrupt table', () => {
    const buf = fileWith(two)
    const e = problem(() => checkGgufLayout(parseGguf(buf), buf.length - 1))
    expect(e.kind).toBe('truncated')
    expect(e.message).toMatch(/tensor b\.weight \(2 of 2\), F32 \[32\], needs bytes \d+ to \d+, but the file ends/)
    const gap = Buffer.from(buf)
    gap.writeBigUInt64LE(288n, afterName(gap, 'b.weight') + 4 + 8 + 4)
    expect(problem(() => checkGgufLayout(parseGguf(gap), gap.length)).message).toMatch(
      /b\.weight \(2 of 2\) has the data offset 288, but the tensors before it end at 256/,
    )
  })

  test('unknown and removed ggml types, and rows that are not whole blocks, are refused', () => {
    const setType = (type: number, dims: number[]) => {
      const buf = fileWith([{ name: 't', dims }])
      buf.writeUInt32LE(type, afterName(buf, 't') + 4 + 8 * dims.length)
      return () => checkGgufLayout(parseGguf(buf), buf.length)
    }
    expect(problem(setType(99, [32])).message).toMatch(/ggml type 99, which llama\.cpp does not have/)
    expect(problem(setType(4, [32])).message).toMatch(/ggml type Q4_2, which llama\.cpp has removed/)
    expect(problem(setType(2, [33])).message).toMatch(/rows of 33 values, not whole Q4_0 blocks of 32/)
    // Q4_0: 32 values in 18 bytes, inside the 128 the F32 data took
    expect(() => setType(2, [32])()).not.toThrow()
  })
})

describe('lora.ts: what makes an adapter fit a base', () => {
  const base = {
    architecture: 'llama',
    blockCount: 2,
    tensors: [
      { name: 'blk.0.attn_q.weight', dims: [8, 8] },
      { name: 'blk.1.attn_q.weight', dims: [8, 8] },
    ],
  }
  const adapter = (arch: string, target: string, rank = 2) => ({
    generalType: 'adapter',
    adapterType: 'lora',
    architecture: arch,
    tensors: [
      { name: `${target}.lora_a`, dims: [8, rank] },
      { name: `${target}.lora_b`, dims: [rank, 8] },
    ],
  })

  test('the same architecture, tensors of the base, fitting shapes: no problem', () => {
    expect(loraBaseProblem(adapter('llama', 'blk.1.attn_q.weight'), base)).toBeUndefined()
  })

  test('each mismatch says what differs', () => {
    expect(loraBaseProblem(adapter('qwen2', 'blk.0.attn_q.weight'), base)).toMatch(
      /made for "qwen2" models but the base model is "llama"/,
    )
    expect(loraBaseProblem(adapter('llama', 'blk.5.attn_q.weight'), base)).toMatch(
      /blk\.5\.attn_q\.weight, which the base model does not have \(its layers are blk\.0 to blk\.1: llama\.block_count is 2\)/,
    )
    expect(loraBaseProblem(adapter('llama', 'blk.0.attn_k.weight'), base)).toMatch(/does not have: it was made/)
    expect(loraKindProblem({ generalType: 'model', adapterType: undefined })).toMatch(/is a model, not an adapter/)
    expect(loraKindProblem({ generalType: 'adapter', adapterType: 'control_vector' })).toMatch(/only LoRA/)
  })
})
