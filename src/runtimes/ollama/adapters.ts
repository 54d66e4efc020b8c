/**
 * LoRA adapters for Ollama: which files make up an adapter, their sha256 digests (streamed, never
 * read whole into memory), the name of the derived model, and the blob calls Ollama has no client
 * method for (`HEAD /api/blobs/:digest`, `POST /api/blobs/:digest`).
 *
 * An adapter (`AdapterSpec.file`) is, as Ollama's `ADAPTER` takes it:
 * - a GGUF file (any name; GGUF is recognised by its magic bytes or a .gguf/.bin suffix), sent as
 *   one file named `<basename>.gguf` so that Ollama types it as GGUF;
 * - a .safetensors file, sent with the `adapter_config.json` beside it when there is one (Ollama
 *   reads the LoRA alpha from it);
 * - a directory holding *.safetensors files and adapter_config.json, all of them sent.
 *
 * The derived model is named `mirador-<entry>:<key>`: <entry> is the manifest entry's name made
 * into an Ollama name (lowercase, `[a-z0-9._-]`, other runs become "-", at most 72 characters,
 * "model" when nothing is left), and <key> the first 12 hex digits of the sha256 of the base's
 * name and each file's name and digest. So the same adapter on the same base always gives the
 * same name (the cache: a model Ollama already has is not created again, by any process), and a
 * changed adapter file or another base gives a new one.
 */
import { createHash } from 'node:crypto'
import { open, readdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import type { Progress } from '../../engine/runtime.js'
import { hashFile, type FileHash } from '../../lib/hash-file.js'
import { abortedError, callOllama, disposedError, type CallEnv, type StepOptions } from './call.js'
import { guardedFetch, newWatch } from './client.js'
import { timeoutError, toMiradorError } from './errors.js'
import { RequestGuard } from './guard.js'
import { displayHost } from './host.js'

/** One file of an adapter, hashed. */
export interface AdapterFile {
  /** where it is on this machine */
  path: string
  /** the file name Ollama is given (the key in `adapters`) */
  name: string
  /** "sha256:<hex>" */
  digest: string
  size: number
}

const GGUF_MAGIC = Buffer.from('GGUF', 'latin1')

function missing(entry: string, file: string, why: string, cause?: unknown): MiradorError {
  return new MiradorError(
    'MODEL_MISSING',
    `The adapter ${file} of model entry "${entry}" ${why}. Check its path in models/manifest.yaml.`,
    { ...(cause === undefined ? {} : { cause }), details: { entry, file } },
  )
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'ENOENT') return 'does not exist'
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)'
  if (code === 'EISDIR') return 'is a directory'
  return `cannot be read (${err instanceof Error ? err.message : String(err)})`
}

/**
 * The files of one adapter, hashed. Throws MODEL_MISSING (naming the file and the entry) when a
 * file is missing or unreadable, USAGE when it is neither GGUF nor safetensors, ABORTED on abort.
 */
export async function adapterFiles(
  entry: string,
  file: string,
  signal: AbortSignal | undefined,
  onProgress?: (p: Progress) => void,
  doing?: string,
): Promise<AdapterFile[]> {
  let paths: string[]
  let isDir: boolean
  try {
    const st = await stat(file)
    isDir = st.isDirectory()
    if (isDir) {
      const names = (await readdir(file)).sort()
      const tensors = names.filter((n) => n.endsWith('.safetensors'))
      if (tensors.length === 0) throw missing(entry, file, 'is a directory without .safetensors files')
      paths = [...tensors, ...names.filter((n) => n === 'adapter_config.json')].map((n) => join(file, n))
    } else if (file.endsWith('.safetensors')) {
      const config = join(dirname(file), 'adapter_config.json')
      const hasConfig = await stat(config).then(
        (s) => s.isFile(),
        () => false,
      )
      paths = hasConfig ? [file, config] : [file]
    } else {
      paths = [file]
    }
  } catch (err) {
    if (MiradorError.is(err)) throw err
    throw missing(entry, file, fsReason(err), err)
  }

  const out: AdapterFile[] = []
  for (const path of paths) {
    let hashed: FileHash
    let last = 0
    const name = basename(path)
    try {
      const onBytes = (done: number, total: number) => {
        // about one update per 5 %, and the last one
        if (onProgress && (done === total || done - last >= total / 20)) {
          last = done
          onProgress({ status: `hashing ${name}`, completed: done, total })
        }
      }
      hashed = await hashFile(path, { ...(signal ? { signal } : {}), onBytes })
    } catch (err) {
      if (signal?.aborted) throw abortedError(doing, err)
      throw missing(entry, path, fsReason(err), err)
    }
    if (isDir || path.endsWith('.safetensors') || name === 'adapter_config.json') {
      out.push({ path, name, digest: `sha256:${hashed.sha256}`, size: hashed.size })
    } else if (hashed.head.equals(GGUF_MAGIC) || /\.(gguf|bin)$/i.test(name)) {
      // Ollama decides the type by the name's suffix
      out.push({
        path,
        name: /\.(gguf|bin)$/i.test(name) ? name : `${name}.gguf`,
        digest: `sha256:${hashed.sha256}`,
        size: hashed.size,
      })
    } else {
      throw new MiradorError(
        'USAGE',
        `The adapter ${path} of model entry "${entry}" is neither a GGUF file nor a .safetensors file, ` +
          'the adapter formats Ollama takes. Convert it (llama.cpp convert_lora_to_gguf.py) ' +
          'or point `lora` at the right file.',
        { details: { entry, file: path } },
      )
    }
  }
  return out
}

/** The manifest entry's name as an Ollama model name part. */
export function entrySlug(entry: string): string {
  const slug = entry
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/([._-])[._-]+/g, '$1')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 72)
    .replace(/[._-]+$/, '')
  return slug || 'model'
}

/** `mirador-<entry>:<12 hex>`, see the file's comment. */
export function derivedModelName(
  entry: string,
  base: string,
  files: readonly Pick<AdapterFile, 'name' | 'digest'>[],
): string {
  const key = createHash('sha256')
    .update(`${base}\n`)
    .update(
      [...files]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((f) => `${f.name} ${f.digest}\n`)
        .join(''),
    )
    .digest('hex')
    .slice(0, 12)
  return `mirador-${entrySlug(entry)}:${key}`
}

/** `HEAD /api/blobs/:digest`: does Ollama have the blob? (bounded by statusTimeoutMs) */
export async function blobExists(
  env: CallEnv,
  model: string,
  digest: string,
  signal?: AbortSignal,
  doing?: string,
): Promise<boolean> {
  return callOllama(
    env,
    model,
    async (_client, ctx) => {
      const res = await guardedFetch({ fetch: ctx.fetch, signal: ctx.signal, watch: ctx.watch })(
        `${env.host}/api/blobs/${digest}`,
        {
          method: 'HEAD',
        },
      )
      if (res.status === 200) return true
      if (res.status === 404) return false
      throw await httpError(env.host, res, `checking for the adapter blob ${digest}`, model)
    },
    { signal, doing },
  )
}

/** Ollama's words in an error response (`{"error": …}`), else its text or status */
async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '')
  let said = text.trim() || `${res.status} ${res.statusText}`.trim()
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    if (parsed && typeof parsed.error === 'string') said = parsed.error
  } catch {
    // not JSON: keep the text
  }
  return said
}

async function httpError(
  host: string,
  res: Response,
  doing: string,
  model: string,
  said?: string,
): Promise<MiradorError> {
  said ??= await errorText(res)
  const h = displayHost(host)
  const details = { host, model, status: res.status }
  if (res.status === 404 || res.status === 405) {
    return new MiradorError(
      'RUNTIME_PROTOCOL',
      `${h} answered HTTP ${res.status} (${said}) while ${doing}; ` +
        'it does not look like an Ollama server (or it is too old to take adapters). ' +
        "Check OLLAMA_HOST (or the model's `host` in models/manifest.yaml).",
      { details },
    )
  }
  return new MiradorError('RUNTIME_FAILED', `Ollama at ${h} failed while ${doing}: ${said} (HTTP ${res.status})`, {
    details,
  })
}

export interface UploadEnv extends CallEnv {
  idleTimeoutMs: number
}

/**
 * `POST /api/blobs/:digest` with the file streamed from disk. Bounded by idleTimeoutMs between
 * chunks taken by the connection (and after the last one, for Ollama's answer); progress as
 * `uploading <name>` with completed/total bytes. Ollama's 400 "digest mismatch" (the file changed
 * since it was hashed) → RUNTIME_FAILED saying so.
 */
export async function uploadBlob(
  env: UploadEnv,
  entry: string,
  file: AdapterFile,
  options: StepOptions = {},
): Promise<void> {
  const model = entry
  const guard = new RequestGuard(options.signal)
  env.active.add(guard)
  const watch = newWatch()
  let completed = false
  let handle: Awaited<ReturnType<typeof open>> | undefined
  let closed = false
  const closeFile = async (): Promise<void> => {
    if (handle && !closed) {
      closed = true
      await handle.close().catch(() => {})
    }
  }
  try {
    guard.arm('idle', env.idleTimeoutMs)
    try {
      handle = await open(file.path, 'r')
    } catch (err) {
      throw missing(entry, file.path, fsReason(err), err)
    }
    const fh = handle
    let sent = 0
    let reported = 0
    options.onProgress?.({ status: `uploading ${file.name}`, completed: 0, total: file.size })
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const buf = Buffer.allocUnsafe(1 << 20)
        const { bytesRead } = await fh.read(buf, 0, buf.length, null)
        if (bytesRead === 0) {
          await closeFile()
          controller.close()
          return
        }
        sent += bytesRead
        guard.arm('idle', env.idleTimeoutMs)
        if (options.onProgress && (sent - reported >= file.size / 20 || sent >= file.size)) {
          reported = sent
          options.onProgress({ status: `uploading ${file.name}`, completed: sent, total: file.size })
        }
        controller.enqueue(new Uint8Array(buf.buffer, buf.byteOffset, bytesRead))
      },
      async cancel() {
        await closeFile()
      },
    })
    const post = guardedFetch({ fetch: env.fetch, signal: guard.signal, watch })
    const res = await guard.race(
      post(`${env.host}/api/blobs/${file.digest}`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { 'Content-Type': 'application/octet-stream' },
      } as RequestInit),
    )
    if (res.status === 200 || res.status === 201) {
      await res.body?.cancel().catch(() => {})
      completed = true
      return
    }
    const said = await guard.race(errorText(res))
    if (res.status === 400 && /digest mismatch/i.test(said)) {
      throw new MiradorError(
        'RUNTIME_FAILED',
        `Ollama at ${displayHost(env.host)} rejected the adapter ${file.path} of model entry "${entry}": ${said}. ` +
          'The file changed while it was being sent, or something between Mirador and Ollama altered it; try again.',
        { details: { host: env.host, entry, file: file.path, digest: file.digest, status: 400 } },
      )
    }
    throw await httpError(env.host, res, `receiving the adapter ${file.name}`, model, said)
  } catch (err) {
    guard.pause()
    if (guard.why === 'user') throw abortedError(options.doing, err)
    if (guard.why === 'dispose') throw disposedError(err)
    if (guard.why === 'idle')
      throw timeoutError('idle', env.idleTimeoutMs, { host: env.host, model, tokens: 0, action: 'upload' })
    if (MiradorError.is(err)) throw err
    throw toMiradorError(err, { host: env.host, model, tokens: 0, watch, action: 'upload' })
  } finally {
    await closeFile()
    guard.dispose(completed)
    env.active.delete(guard)
  }
}
