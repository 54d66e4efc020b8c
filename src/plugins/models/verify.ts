/**
 * The checks a manifest entry's files pass before a runtime loads them (and `models verify`):
 *
 * - each file (the GGUF base of a llamacpp entry, the adapter of any entry) is a regular file,
 *   opened without blocking (a FIFO planted there must not hang the run) and checked through that
 *   open handle, so what is hashed is what was checked;
 * - a GGUF file's header and tensor table parse within the file's size, and every tensor's data lies
 *   inside the file, laid out as llama.cpp requires (src/lib/gguf): a truncated download is caught
 *   here, before llama.cpp maps it. A base must be a model, not an adapter;
 * - an adapter is a LoRA adapter (general.type, adapter.type) and, on llama.cpp, one for its base:
 *   the same general.architecture, and every tensor it adapts is a tensor of the base (so a layer the
 *   base has), with fitting shapes (src/lib/gguf/lora.ts). An Ollama entry's base is a tag, not a
 *   file here: its adapter is checked as a file (and as GGUF when it is one), not against the base;
 * - when the manifest pins a `sha256`, the file is hashed (streamed, with progress) and refused
 *   unless it matches; the hash is cached by path, size, mtime and inode (hash-cache.ts).
 *
 * A problem is a MiradorError naming the manifest's file:line:column (of the path, or of the pin for
 * a wrong hash), the file, what is wrong and what to do: MODEL_MISSING for a file that is not there,
 * MODEL_INVALID for the rest. A file that passed is remembered for the process (by its stamp and
 * pin), so entries sharing a base and later loads do not read it again.
 */
import { constants, type Stats } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { MiradorError } from '../../engine/errors.js'
import { checkGgufLayout } from '../../lib/gguf/layout.js'
import { ggufFacts, loraBaseProblem, loraKindProblem, type BaseFacts } from '../../lib/gguf/lora.js'
import { GGUF_HEADER_BYTES, GgufFormatError, readGgufFd, type GgufProblemKind } from '../../lib/gguf/read.js'
import { hashFile } from '../../lib/hash-file.js'
import { fileKind } from '../../lib/read-regular-file.js'
import { HashCache, type FileStamp } from './hash-cache.js'
import type { ModelFile, ResolvedModel } from './resolve.js'

/** What was found about one file of an entry. */
export interface FileReport {
  role: ModelFile['role']
  path: string
  bytes?: number
  /** from the GGUF header, when the file is GGUF */
  gguf?: { version: number; tensors: number; architecture?: string; type: string }
  /** for an adapter on llama.cpp: what it was compared with in its base */
  compared?: string
  /** present when the file was hashed or its hash came from the cache */
  sha256?: { actual: string; pinned?: string; cached: boolean }
  /** why a check did not apply (an Ollama adapter folder, a safetensors adapter) */
  note?: string
  error?: MiradorError
}

export interface VerifyOptions {
  signal?: AbortSignal
  /** progress of hashing a large file, in bytes */
  onProgress?: (p: { file: string; done: number; total: number }) => void
  /** hash again even when the cache knows the file */
  rehash?: boolean
  /** hash files the manifest does not pin too (to print a pin) */
  hashAll?: boolean
}

/** files smaller than this are hashed without progress reports */
const PROGRESS_MIN_BYTES = 32 << 20
// O_NONBLOCK: opening a FIFO must not wait for a writer (absent on Windows, where FIFOs are not files)
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)
// an adapter's or a model's vocabulary is of no use to the checks: walked, bounds-checked, not decoded
const keep = (key: string) => !key.startsWith('tokenizer.')

const ADVICE: Record<GgufProblemKind, string> = {
  truncated: 'Download it again: the download stopped early, or the copy was cut short',
  corrupt: 'Download it again (or convert the model again): the file is damaged',
  'not-gguf': 'llama.cpp loads GGUF files only: download a .gguf build, or convert it with llama.cpp',
  version: 'Download a current .gguf build, or convert it again with a current llama.cpp',
}

export class ModelFileVerifier {
  readonly cache: HashCache
  /** files that passed in this process: path → stamp and pin they passed with, and the report */
  readonly #passed = new Map<string, { key: string; report: FileReport; facts?: BaseFacts }>()
  /** for tests and benchmarks: files hashed (not taken from the cache), and their bytes */
  readonly stats = { hashed: 0, bytesHashed: 0, headersRead: 0 }

  constructor(home: string) {
    this.cache = new HashCache(home)
  }

  /** Checks every file of `r`; a problem is the `error` of its file's report, nothing throws for it. */
  async check(r: ResolvedModel, options: VerifyOptions = {}): Promise<FileReport[]> {
    const reports: FileReport[] = []
    let base: { facts: BaseFacts; key: string } | undefined
    for (const f of r.files) {
      const { report, facts, key } = await this.#file(r, f, base, options)
      if (f.role === 'base' && facts && key) base = { facts, key }
      reports.push(report)
    }
    return reports
  }

  /** Checks every file of `r`; throws the first problem (MODEL_MISSING, MODEL_INVALID, ABORTED). */
  async assert(r: ResolvedModel, options: VerifyOptions = {}): Promise<void> {
    if (r.files.length === 0) return
    const failed = (await this.check(r, options)).find((x) => x.error)
    if (failed) throw failed.error
  }

  async #file(
    r: ResolvedModel,
    f: ModelFile,
    base: { facts: BaseFacts; key: string } | undefined,
    options: VerifyOptions,
  ): Promise<{ report: FileReport; facts?: BaseFacts; key?: string }> {
    const file = f.at.path
    const report: FileReport = { role: f.role, path: file }
    const fail = (code: 'MODEL_MISSING' | 'MODEL_INVALID', what: string, at = f.at.location, cause?: unknown) => {
      report.error = new MiradorError(code, `model "${r.name}": ${subject(f)} ${what}.`, {
        location: at,
        details: { model: r.name, file, role: f.role },
        ...(cause === undefined ? {} : { cause }),
      })
      return { report }
    }
    let handle: FileHandle
    try {
      handle = await open(file, OPEN_FLAGS)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT')
        return fail(
          'MODEL_MISSING',
          `does not exist. Check its path (${f.role === 'base' ? 'base' : 'lora'}: in the manifest), ` +
            'or download it there',
        )
      if (code === 'EACCES' || code === 'EPERM')
        return fail('MODEL_INVALID', 'cannot be read (permission denied). Make it readable by this user')
      return fail(
        'MODEL_INVALID',
        `cannot be opened (${code ?? String(err)}): it is not a regular file`,
        undefined,
        err,
      )
    }
    try {
      const st = await handle.stat()
      report.bytes = st.size
      if (!st.isFile()) return this.#notAFile(f, st, report, fail)
      const stamp: FileStamp = { path: file, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }
      // what it passed with: this version of the file, this pin, and for an adapter this base
      const key = [file, st.size, st.mtimeMs, st.ino, f.sha256?.value ?? '', f.role, base?.key ?? ''].join('\0')
      const passed = this.#passed.get(file)
      if (passed?.key === key && !options.rehash && !(options.hashAll && !passed.report.sha256))
        return { report: { ...passed.report }, key, ...(passed.facts ? { facts: passed.facts } : {}) }

      let facts: BaseFacts | undefined
      if (f.gguf || (await startsWithGguf(handle))) {
        if (st.size < GGUF_HEADER_BYTES)
          return fail('MODEL_INVALID', `is ${st.size} bytes, too small for a GGUF file. ${ADVICE.truncated}`)
        const outcome = this.#gguf(f, handle, st.size, base?.facts, report)
        if (outcome.problem) return fail('MODEL_INVALID', outcome.problem)
        facts = outcome.facts
      } else report.note = 'not GGUF (Ollama also takes safetensors adapters): checked as a file only'

      if (f.sha256 || options.hashAll) {
        const actual = await this.#hash(stamp, handle, options)
        report.sha256 = { actual: actual.sha256, cached: actual.cached, ...(f.sha256 && { pinned: f.sha256.value }) }
        if (f.sha256 && actual.sha256 !== f.sha256.value)
          return fail(
            'MODEL_INVALID',
            `has sha256 ${actual.sha256}, not the ${f.sha256.value} pinned in the manifest: the file changed, or is ` +
              'not the one pinned. Download it again; if you replaced it on purpose, put its sha256 in the manifest',
            f.sha256.location,
          )
      }
      this.#passed.set(file, { key, report: { ...report }, ...(facts ? { facts } : {}) })
      return { report, key, ...(facts ? { facts } : {}) }
    } catch (err) {
      if (MiradorError.is(err, 'ABORTED')) throw err
      return fail('MODEL_INVALID', `cannot be read (${(err as Error).message})`, undefined, err)
    } finally {
      await handle.close()
    }
  }

  /** the header and tensor table, and for an adapter its fit to the base; a problem as a phrase */
  #gguf(
    f: ModelFile,
    handle: FileHandle,
    size: number,
    base: BaseFacts | undefined,
    report: FileReport,
  ): { problem?: string; facts?: BaseFacts } {
    let facts
    try {
      this.stats.headersRead++
      const gguf = readGgufFd(handle.fd, size, { keep })
      checkGgufLayout(gguf, size)
      facts = ggufFacts(gguf)
      report.gguf = {
        version: gguf.version,
        tensors: gguf.tensors.length,
        ...(typeof facts.architecture === 'string' && { architecture: facts.architecture }),
        type: typeof facts.generalType === 'string' ? facts.generalType : 'model',
      }
    } catch (err) {
      if (!(err instanceof GgufFormatError)) throw err
      const advice =
        err.kind === 'not-gguf' && f.role === 'adapter'
          ? "llama.cpp needs LoRA adapters in GGUF: convert it with llama.cpp's convert_lora_to_gguf.py"
          : ADVICE[err.kind]
      return { problem: `cannot be used: ${err.message}. ${advice}` }
    }
    if (f.role === 'base') {
      if (facts.generalType === 'adapter')
        return {
          problem:
            'is a LoRA adapter, not a model (general.type is "adapter"). Give the model it was made for as base, ' +
            'and this file as lora',
        }
      return { facts }
    }
    const kind = f.gguf && base ? loraBaseProblem(facts, base) : loraKindProblem(facts)
    if (kind) return { problem: `${f.gguf && base ? 'does not fit its base model' : 'cannot be used'}: ${kind}` }
    if (f.gguf && base) report.compared = compared(facts, base)
    else if (f.gguf) report.note = 'not compared with the base, whose own checks failed'
    return {}
  }

  #notAFile(
    f: ModelFile,
    st: Stats,
    report: FileReport,
    fail: (code: 'MODEL_INVALID', what: string) => { report: FileReport },
  ): { report: FileReport } {
    // an Ollama adapter may be a folder of safetensors files; the runtime reads and hashes each
    if (st.isDirectory() && !f.gguf && !f.sha256) {
      report.note = 'a folder (safetensors and adapter_config.json): Ollama takes it as it is'
      return { report }
    }
    if (st.isDirectory())
      return fail(
        'MODEL_INVALID',
        f.sha256
          ? 'is a folder: a sha256 pin is for one file. Point lora at a file, or remove the pin'
          : 'is a folder, not a GGUF file. Point the manifest at the .gguf file inside it',
      )
    return fail('MODEL_INVALID', `is ${fileKind(st)}, not a regular file. Point the manifest at the file itself`)
  }

  async #hash(
    stamp: FileStamp,
    handle: FileHandle,
    options: VerifyOptions,
  ): Promise<{ sha256: string; cached: boolean }> {
    const known = options.rehash ? undefined : await this.cache.get(stamp)
    if (known) return { sha256: known, cached: true }
    let step = -1
    const onBytes = (done: number, total: number) => {
      if (!options.onProgress || total < PROGRESS_MIN_BYTES) return
      const percent = Math.floor((100 * done) / total)
      if (percent === step) return
      step = percent
      options.onProgress({ file: stamp.path, done, total })
    }
    const { sha256, size } = await hashFile(handle, { ...(options.signal && { signal: options.signal }), onBytes })
    this.stats.hashed++
    this.stats.bytesHashed += size
    // kept only if the file did not change while it was read
    const after = await handle.stat()
    if (size === stamp.size && after.size === stamp.size && after.mtimeMs === stamp.mtimeMs)
      await this.cache.put(stamp, sha256).catch(() => {})
    return { sha256, cached: false }
  }
}

function subject(f: ModelFile): string {
  return f.role === 'base' ? `the GGUF file ${f.at.path}` : `the adapter ${f.at.path}`
}

async function startsWithGguf(handle: FileHandle): Promise<boolean> {
  const head = Buffer.alloc(4)
  const { bytesRead } = await handle.read(head, 0, 4, 0)
  return bytesRead === 4 && head.toString('latin1') === 'GGUF'
}

/** "llama like its base; 40 tensors on 20 base tensors in layers blk.0 to blk.4" */
function compared(adapter: BaseFacts, base: BaseFacts): string {
  const targets = new Set(adapter.tensors.map((t) => t.name.replace(/\.lora_[ab]$/, '')))
  const layers = [...targets].map((n) => Number(/^blk\.(\d+)\./.exec(n)?.[1] ?? NaN)).filter((n) => n >= 0)
  const span = layers.length ? ` in layers blk.${Math.min(...layers)} to blk.${Math.max(...layers)}` : ''
  const of = base.blockCount !== undefined ? ` (of ${base.blockCount})` : ''
  return (
    `general.architecture ${String(adapter.architecture)}, as its base's; ` +
    `${adapter.tensors.length} tensors on ${targets.size} tensors of the base${span}${of}, shapes fit`
  )
}
