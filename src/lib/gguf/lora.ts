/**
 * Is a GGUF file a LoRA adapter, and one for this base model? The rules are llama.cpp's
 * (llama_adapter_lora_init in src/llama-adapter.cpp), checked from the two files' headers so a
 * wrong adapter is named before llama.cpp says only "Failed to initialize LoRA adapter":
 *
 * - the adapter's metadata: `general.type` is "adapter" and `adapter.type` is "lora";
 * - its `general.architecture` is the base's (llama, qwen2, …);
 * - its tensors come in pairs `<W>.lora_a` / `<W>.lora_b` (llama.cpp ignores `*_norm.weight`), and
 *   every W is a tensor of the base: so every layer it adapts (`blk.N.…`) is one the base has
 *   (below the base's `<arch>.block_count`, when the base states it);
 * - the shapes fit W (ggml order, dims[0] innermost): a = [W0, r], b = [r, W1]; for
 *   token_embd.weight llama.cpp stores them the other way round.
 *
 * Each check returns what is wrong as a phrase ("it was made for …"), or undefined when it passes;
 * callers put it in their own error with the file's name and what to do.
 */
import { metaInteger, metaString, type GgufFile } from './read.js'

/** a tensor's name and ggml dimensions */
export interface TensorShape {
  name: string
  dims: readonly number[]
}

/** what an adapter's header says about it */
export interface AdapterFacts {
  generalType: unknown
  adapterType: unknown
  architecture: unknown
  tensors: readonly TensorShape[]
}

/** what a base model's header says about it */
export interface BaseFacts {
  architecture: unknown
  tensors: readonly TensorShape[]
  /** `<arch>.block_count`: the number of layers, when the base states it */
  blockCount?: number
}

/** Is it a LoRA adapter at all (whatever its base)? */
export function loraKindProblem(adapter: Pick<AdapterFacts, 'generalType' | 'adapterType'>): string | undefined {
  const { generalType, adapterType } = adapter
  if (generalType !== 'adapter')
    return generalType === undefined || generalType === 'model'
      ? 'it is a model, not an adapter (general.type is not "adapter"). ' +
          'Use it as a base model, or point at the adapter file'
      : `its general.type is ${JSON.stringify(generalType)}, not "adapter"`
  if (adapterType !== 'lora')
    return `it is a ${JSON.stringify(adapterType ?? 'unknown')} adapter; only LoRA adapters ("lora") are supported`
  return undefined
}

/** Is it a LoRA adapter for this base: same architecture, tensors of the base's layers, fitting shapes? */
export function loraBaseProblem(adapter: AdapterFacts, base: BaseFacts): string | undefined {
  const kind = loraKindProblem(adapter)
  if (kind) return kind
  if (adapter.architecture !== base.architecture)
    return (
      `it was made for ${JSON.stringify(adapter.architecture)} models ` +
      `but the base model is ${JSON.stringify(base.architecture)}. Use an adapter trained for this base model`
    )
  const baseByName = new Map(base.tensors.map((t) => [t.name, t]))
  const pairs = new Map<string, { a?: TensorShape; b?: TensorShape }>()
  for (const t of adapter.tensors) {
    const m = /^(.*)\.lora_([ab])$/.exec(t.name)
    if (!m) {
      if (t.name.endsWith('_norm.weight')) continue // llama.cpp ignores these
      return `tensor ${t.name} is not a LoRA tensor (names must end in .lora_a or .lora_b)`
    }
    const pair = pairs.get(m[1]!) ?? {}
    pair[m[2] as 'a' | 'b'] = t
    pairs.set(m[1]!, pair)
  }
  if (pairs.size === 0) return 'it has no LoRA tensors'
  const dim = (t: TensorShape, i: number) => Number(t.dims[i] ?? 1)
  for (const [name, { a, b }] of pairs) {
    if (!a || !b) return `the LoRA tensor pair for ${name} is missing its .lora_${a ? 'b' : 'a'} half`
    const w = baseByName.get(name)
    if (!w)
      return (
        `it adapts tensor ${name}, which the base model does not have${layers(name, base)}: ` +
        'it was made for another model'
      )
    const fits = name.endsWith('token_embd.weight')
      ? dim(w, 0) === dim(b, 1) && dim(w, 1) === dim(a, 1)
      : dim(w, 0) === dim(a, 0) && dim(w, 1) === dim(b, 1) && dim(a, 1) === dim(b, 0)
    if (!fits)
      return (
        `tensor ${name} has the wrong shape (base [${w.dims.join(', ')}], lora_a [${a.dims.join(', ')}], ` +
        `lora_b [${b.dims.join(', ')}]): it was made for another model`
      )
  }
  return undefined
}

/** " (its layers are blk.0 to blk.4: …)" when the missing tensor is in a layer past the base's last */
function layers(name: string, base: BaseFacts): string {
  const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1)
  const n = base.blockCount
  if (n === undefined || layer < n) return ''
  return ` (its layers are blk.0 to blk.${n - 1}: ${String(base.architecture)}.block_count is ${n})`
}

/** The facts of a file read with read.ts, to check as an adapter or to check an adapter against. */
export function ggufFacts(gguf: GgufFile): AdapterFacts & BaseFacts {
  const architecture = metaString(gguf, 'general.architecture')
  const blockCount = architecture === undefined ? undefined : metaInteger(gguf, `${architecture}.block_count`)
  return {
    generalType: metaString(gguf, 'general.type'),
    adapterType: metaString(gguf, 'adapter.type'),
    architecture,
    tensors: gguf.tensors,
    ...(blockCount !== undefined ? { blockCount } : {}),
  }
}
