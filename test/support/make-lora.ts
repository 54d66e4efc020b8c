/**
 * Makes a LoRA adapter GGUF for a base GGUF model, filled with seeded pseudo-random weights: not a
 * trained adapter, but a real one as far as llama.cpp is concerned, for tests and benchmarks of
 * adapter loading and switching. Same options → byte-identical file.
 *
 * What llama.cpp (src/llama-adapter.cpp) requires of a LoRA adapter, and what is written:
 * - metadata `general.type = "adapter"`, `adapter.type = "lora"`, `general.architecture` equal to
 *   the base's, `adapter.lora.alpha` (float32; the delta is scaled by scale × alpha / rank)
 * - for each adapted base tensor W (ggml dims [n_in, n_out]): `<W>.lora_a` with dims [n_in, rank]
 *   and `<W>.lora_b` with dims [rank, n_out] (a.ne[0] == W.ne[0], b.ne[1] == W.ne[1],
 *   a.ne[1] == b.ne[0] == rank); llama.cpp adds scale × alpha / rank × B·A to W·x
 *
 * A and B are uniform in [-magnitude, magnitude]. alpha defaults to rank, so scale 1 adds B·A.
 * The default magnitude is large enough that, on stories260K, scale 1 changes the greedy
 * continuation of "Once upon a time" (see test/llamacpp/lora.test.ts) and scale 0 does not.
 *
 * CLI: node --import ./test/support/ts-loader.mjs test/support/make-lora.ts --base X --out Y
 *        [--seed N] [--rank R] [--alpha A] [--magnitude M] [--target NAME ...]
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { gv, metaString, readGguf, writeGguf, type GgufF32Tensor } from './gguf.js'

export interface MakeLoraOptions {
  /** the base model GGUF whose tensor shapes the adapter follows */
  base: string
  /** where to write the adapter */
  out: string
  /** default 2 */
  rank?: number
  /** default: equal to rank (so scale × alpha / rank = scale) */
  alpha?: number
  /** default 1 */
  seed?: number
  /** base tensor names to adapt; default every blk.N.attn_q/attn_k/attn_v/attn_output.weight */
  targets?: string[]
  /** A and B entries are uniform in [-magnitude, magnitude]; default DEFAULT_LORA_MAGNITUDE */
  magnitude?: number
}

export interface MadeLora {
  /** absolute path of the adapter written */
  file: string
  /** number of tensors written (two per adapted base tensor) */
  tensors: number
  /** file size in bytes */
  bytes: number
}

export const DEFAULT_LORA_RANK = 2
export const DEFAULT_LORA_MAGNITUDE = 0.25
const ATTENTION = /^blk\.\d+\.attn_(q|k|v|output)\.weight$/

/** mulberry32, the generator the learner uses too */
export { seededRandom } from '../../src/plugins/learner/bandit.js'
import { seededRandom } from '../../src/plugins/learner/bandit.js'

export async function makeLoraAdapter(options: MakeLoraOptions): Promise<MadeLora> {
  const rank = options.rank ?? DEFAULT_LORA_RANK
  const alpha = options.alpha ?? rank
  const seed = options.seed ?? 1
  const magnitude = options.magnitude ?? DEFAULT_LORA_MAGNITUDE
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`rank must be a whole number of at least 1, not ${rank}`)
  if (!Number.isFinite(alpha)) throw new Error(`alpha must be a finite number, not ${alpha}`)
  if (!Number.isFinite(magnitude) || magnitude < 0)
    throw new Error(`magnitude must be a finite number >= 0, not ${magnitude}`)

  const base = await readGguf(options.base)
  const architecture = metaString(base, 'general.architecture')
  if (!architecture) throw new Error(`${options.base} has no general.architecture: not a model GGUF`)
  if (metaString(base, 'general.type') === 'adapter')
    throw new Error(`${options.base} is itself an adapter, not a base model`)

  const byName = new Map(base.tensors.map((t) => [t.name, t]))
  const targets = options.targets ?? base.tensors.filter((t) => ATTENTION.test(t.name)).map((t) => t.name)
  if (targets.length === 0)
    throw new Error(`${options.base} has no tensors to adapt (no attention weights; pass targets)`)

  const random = seededRandom(seed)
  const uniform = (n: number) => {
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) a[i] = (random() * 2 - 1) * magnitude
    return a
  }
  const tensors: GgufF32Tensor[] = []
  for (const name of targets) {
    const t = byName.get(name)
    if (!t) throw new Error(`the base model has no tensor ${name}`)
    if (t.dims.length !== 2)
      throw new Error(`tensor ${name} has ${t.dims.length} dimensions; LoRA adapts 2-D weights only`)
    if (name.endsWith('token_embd.weight'))
      throw new Error('adapting token_embd.weight is not supported by this generator')
    const [nIn, nOut] = t.dims as [number, number]
    tensors.push({ name: `${name}.lora_a`, dims: [nIn, rank], data: uniform(nIn * rank) })
    tensors.push({ name: `${name}.lora_b`, dims: [rank, nOut], data: uniform(rank * nOut) })
  }

  const file = path.resolve(options.out)
  const { bytes } = await writeGguf(file, {
    metadata: {
      'general.architecture': gv.str(architecture),
      'general.type': gv.str('adapter'),
      'general.name': gv.str(`mirador test LoRA (seed ${seed}, rank ${rank})`),
      'adapter.type': gv.str('lora'),
      'adapter.lora.alpha': gv.f32(alpha),
    },
    tensors,
  })
  return { file, tensors: tensors.length, bytes }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      rank: { type: 'string' },
      alpha: { type: 'string' },
      magnitude: { type: 'string' },
      target: { type: 'string', multiple: true },
    },
    strict: true,
  })
  if (!values.base || !values.out) {
    process.stderr.write(
      'usage: make-lora.ts --base BASE.gguf --out ADAPTER.gguf ' +
        '[--seed N] [--rank R] [--alpha A] [--magnitude M] [--target NAME ...]\n',
    )
    process.exitCode = 2
    return
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v))
  const made = await makeLoraAdapter({
    base: values.base,
    out: values.out,
    ...(values.seed !== undefined && { seed: num(values.seed)! }),
    ...(values.rank !== undefined && { rank: num(values.rank)! }),
    ...(values.alpha !== undefined && { alpha: num(values.alpha)! }),
    ...(values.magnitude !== undefined && { magnitude: num(values.magnitude)! }),
    ...(values.target && { targets: values.target }),
  })
  process.stdout.write(`${JSON.stringify(made)}\n`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`make-lora: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  })
}
