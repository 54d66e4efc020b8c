/**
 * LoRA adapters on the llama.cpp runtime: checking adapter files against the base model before
 * llama.cpp loads them, so a bad adapter is a RUNTIME_LOAD error that names the file and says what
 * is wrong (llama.cpp itself only says "Failed to initialize LoRA adapter").
 *
 * The checks are those of llama.cpp's llama_adapter_lora_init (src/lib/gguf/lora.ts): a GGUF file
 * with `general.type = "adapter"`, `adapter.type = "lora"`, the base's `general.architecture`, and
 * tensor pairs `<base tensor>.lora_a` / `.lora_b` whose shapes fit the base tensor; and its tensor
 * data must lie inside the file (src/lib/gguf/layout.ts). Only the front of the file is read
 * (src/lib/gguf/read.ts, which, unlike node-llama-cpp's reader, does not read past the end of a
 * truncated file as zeros). A file that passed is remembered per loaded model (by path, size and
 * mtime), so repeated requests do not re-read it.
 *
 * node-llama-cpp loads each adapter once per model (by path) and keeps it until the model is
 * disposed: an adapter file rewritten in place is picked up after the model is unloaded.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { LlamaModel } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'
import type { AdapterSpec } from '../../engine/runtime.js'
import { checkGgufLayout } from '../../lib/gguf/layout.js'
import { ggufFacts, loraBaseProblem, type BaseFacts } from '../../lib/gguf/lora.js'
import { GgufFormatError, readGgufSync, type GgufFile } from '../../lib/gguf/read.js'
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

  let gguf: GgufFile
  try {
    // the vocabulary of an adapter (if it has one) is of no use here
    gguf = readGgufSync(filePath, { keep: (key) => !key.startsWith('tokenizer.') })
    checkGgufLayout(gguf, size)
  } catch (err) {
    if (!(err instanceof GgufFormatError)) throw fail(`it could not be read (${message(err)})`, err)
    if (err.kind === 'not-gguf')
      throw fail(
        'it is not a GGUF file. llama.cpp needs LoRA adapters in GGUF format ' +
          "(convert a PEFT/safetensors adapter with llama.cpp's convert_lora_to_gguf.py)",
        err,
      )
    throw fail(`${err.message}. Re-create or re-download it`, err)
  }
  const problem = loraBaseProblem(ggufFacts(gguf), baseFacts(model))
  if (problem) throw fail(problem)

  if (!seen) checked.set(model, (seen = new Map()))
  seen.set(filePath, stamp)
  return { filePath, scale, bytes: size }
}

const bases = new WeakMap<LlamaModel, BaseFacts>()

/** What an adapter is checked against: the loaded base's architecture, tensors and layer count. */
function baseFacts(model: LlamaModel): BaseFacts {
  let facts = bases.get(model)
  if (!facts) {
    const info = model.fileInfo
    const blockCount = Number(metaValue(info.architectureMetadata, 'block_count'))
    facts = {
      architecture: metaValue(info.metadata, 'general.architecture'),
      tensors: (info.fullTensorInfo ?? info.tensorInfo ?? []).map((t) => ({
        name: t.name,
        dims: t.dimensions.map(Number),
      })),
      ...(Number.isSafeInteger(blockCount) ? { blockCount } : {}),
    }
    bases.set(model, facts)
  }
  return facts
}

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
