/**
 * LoRA adapters on the llama.cpp runtime: checking adapter files against the base model before
 * llama.cpp loads them, so a bad adapter is a RUNTIME_LOAD error that names the file and says what
 * is wrong (llama.cpp itself only says "Failed to initialize LoRA adapter").
 *
 * The checks are those of llama.cpp's llama_adapter_lora_init (src/llama-adapter.cpp): a GGUF file
 * with `general.type = "adapter"`, `adapter.type = "lora"`, the base's `general.architecture`, and
 * tensor pairs `<base tensor>.lora_a` / `.lora_b` whose shapes fit the base tensor. Only the front of
 * the file is read (node-llama-cpp's readGgufFileInfo). A file that passed is remembered per loaded
 * model (by path, size and mtime), so repeated requests do not re-read it.
 *
 * node-llama-cpp loads each adapter once per model (by path) and keeps it until the model is
 * disposed: an adapter file rewritten in place is picked up after the model is unloaded.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { GgufTensorInfo, LlamaModel } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'
import type { AdapterSpec } from '../../engine/runtime.js'
import { message } from './load.js'

/** An adapter ready to attach: absolute path, scale, and file size. */
export interface CheckedAdapter {
  filePath: string
  scale: number
  bytes: number
}

const checked = new WeakMap<LlamaModel, Map<string, string>>()

/**
 * Checks every adapter of a request against the loaded base `model` (from `modelFile`).
 * Throws a MiradorError: RUNTIME_LOAD for a file that is missing or is not a LoRA adapter for this
 * base, USAGE for a scale that is not a finite number.
 */
export async function checkAdapters(
  model: LlamaModel,
  modelFile: string,
  specs: readonly AdapterSpec[],
): Promise<CheckedAdapter[]> {
  const out: CheckedAdapter[] = []
  for (const spec of specs) out.push(await checkAdapter(model, modelFile, spec))
  return out
}

async function checkAdapter(model: LlamaModel, modelFile: string, spec: AdapterSpec): Promise<CheckedAdapter> {
  if (typeof spec?.file !== 'string' || spec.file === '')
    throw new MiradorError('USAGE', `a LoRA adapter for model ${modelFile} has no file path`)
  const filePath = path.resolve(spec.file)
  const scale = spec.scale ?? 1
  if (typeof scale !== 'number' || !Number.isFinite(scale))
    throw new MiradorError(
      'USAGE',
      `the scale of LoRA adapter ${filePath} must be a finite number, not ${String(scale)}`,
    )
  const fail = (what: string, cause?: unknown) =>
    new MiradorError('RUNTIME_LOAD', `cannot load LoRA adapter ${filePath} for model ${modelFile}: ${what}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { adapter: filePath, model: modelFile },
    })

  let size: number
  let stamp: string
  try {
    const st = await stat(filePath)
    if (st.isDirectory()) throw fail('it is a directory. Point the adapter at the .gguf file inside it')
    if (!st.isFile()) throw fail('it is not a regular file')
    size = st.size
    stamp = `${st.size}:${st.mtimeMs}`
  } catch (err) {
    if (err instanceof MiradorError) throw err
    const code = (err as { code?: unknown } | null)?.code
    if (code === 'ENOENT')
      throw fail(
        'the file does not exist. Check the adapter path (in the model manifest), ' +
          'or create or download the adapter there',
        err,
      )
    if (code === 'EACCES' || code === 'EPERM') throw fail('permission denied. Make the file readable by this user', err)
    throw fail(message(err), err)
  }

  let seen = checked.get(model)
  if (seen?.get(filePath) === stamp) return { filePath, scale, bytes: size }

  const { readGgufFileInfo } = await import('node-llama-cpp')
  let info: Awaited<ReturnType<typeof readGgufFileInfo>>
  try {
    info = await readGgufFileInfo(filePath, { sourceType: 'filesystem', logWarnings: false, spliceSplitFiles: false })
  } catch (err) {
    const name = (err as { constructor?: { name?: unknown } } | null)?.constructor?.name
    if (name === 'InvalidGgufMagicError')
      throw fail(
        'it is not a GGUF file. llama.cpp needs LoRA adapters in GGUF format ' +
          "(convert a PEFT/safetensors adapter with llama.cpp's convert_lora_to_gguf.py)",
        err,
      )
    throw fail(`it could not be read as GGUF (${message(err)}). It may be truncated: re-create or re-download it`, err)
  }

  const meta = info.metadata
  const generalType = metaValue(meta, 'general.type')
  if (generalType !== 'adapter')
    throw fail(
      generalType === undefined || generalType === 'model'
        ? 'it is a model, not an adapter (general.type is not "adapter"). ' +
            'Use it as a base model, or point at the adapter file'
        : `its general.type is ${JSON.stringify(generalType)}, not "adapter"`,
    )
  const adapterType = metaValue(meta, 'adapter.type')
  if (adapterType !== 'lora')
    throw fail(`it is a ${JSON.stringify(adapterType ?? 'unknown')} adapter; only LoRA adapters ("lora") are supported`)
  const arch = metaValue(meta, 'general.architecture')
  const baseArch = metaValue(model.fileInfo.metadata, 'general.architecture')
  if (arch !== baseArch)
    throw fail(
      `it was made for ${JSON.stringify(arch)} models but the base model is ${JSON.stringify(baseArch)}. ` +
        'Use an adapter trained for this base model',
    )

  const baseTensors = model.fileInfo.fullTensorInfo ?? model.fileInfo.tensorInfo
  if (info.tensorInfo && baseTensors) checkTensors(info.tensorInfo, baseTensors, size, fail)

  if (!seen) checked.set(model, (seen = new Map()))
  seen.set(filePath, stamp)
  return { filePath, scale, bytes: size }
}

/** llama.cpp's pairing and shape rules; `size` bounds the tensor data of known types. */
function checkTensors(
  tensors: readonly GgufTensorInfo[],
  base: readonly GgufTensorInfo[],
  size: number,
  fail: (what: string) => MiradorError,
): void {
  const baseByName = new Map(base.map((t) => [t.name, t]))
  const pairs = new Map<string, { a?: GgufTensorInfo; b?: GgufTensorInfo }>()
  for (const t of tensors) {
    const end =
      Number(t.fileOffset) +
      (BYTES_PER_VALUE[t.ggmlType] ?? 0) * t.dimensions.reduce<number>((n, d) => n * Number(d), 1)
    if (end > size)
      throw fail(`tensor ${t.name} runs past the end of the file: it is truncated. Re-create or re-download it`)
    const m = /^(.*)\.lora_([ab])$/.exec(t.name)
    if (!m) {
      if (t.name.endsWith('_norm.weight')) continue // llama.cpp ignores these
      throw fail(`tensor ${t.name} is not a LoRA tensor (names must end in .lora_a or .lora_b)`)
    }
    const pair = pairs.get(m[1]!) ?? {}
    pair[m[2] as 'a' | 'b'] = t
    pairs.set(m[1]!, pair)
  }
  if (pairs.size === 0) throw fail('it has no LoRA tensors')
  const dim = (t: GgufTensorInfo, i: number) => Number(t.dimensions[i] ?? 1)
  for (const [name, { a, b }] of pairs) {
    if (!a || !b) throw fail(`the LoRA tensor pair for ${name} is missing its .lora_${a ? 'b' : 'a'} half`)
    const w = baseByName.get(name)
    if (!w) throw fail(`it adapts tensor ${name}, which the base model does not have: it was made for another model`)
    const fits = name.endsWith('token_embd.weight')
      ? dim(w, 0) === dim(b, 1) && dim(w, 1) === dim(a, 1)
      : dim(w, 0) === dim(a, 0) && dim(w, 1) === dim(b, 1) && dim(a, 1) === dim(b, 0)
    if (!fits)
      throw fail(
        `tensor ${name} has the wrong shape (base [${w.dimensions.join(', ')}], lora_a [${a.dimensions.join(', ')}], ` +
          `lora_b [${b.dimensions.join(', ')}]): it was made for another model`,
      )
  }
}

/** bytes per value of the unquantized ggml types (F32, F16, BF16); others are not bounds-checked */
const BYTES_PER_VALUE: Record<number, number> = { 0: 4, 1: 2, 30: 2 }

/** `a.b.c` in node-llama-cpp's nested metadata object (keys may also be stored flat). */
function metaValue(meta: object, key: string): unknown {
  if (isRecord(meta) && key in meta) return meta[key]
  let cur: unknown = meta
  for (const part of key.split('.')) {
    if (!isRecord(cur) || !(part in cur)) return undefined
    cur = cur[part]
  }
  return cur
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object'
