/**
 * `models pull NAME`: downloads a manifest entry's GGUF file from its `source:` (a Hugging Face
 * repository file, at a revision) into where the entry says it lives ($MIRADOR_HOME/models/FILE by
 * default), resumable and checked against the entry's sha256 (src/lib/download.ts). The hub's
 * address is `MIRADOR_HF_ENDPOINT` (then the hub's own `HF_ENDPOINT`), https://huggingface.co by
 * default: a mirror, or a test server. `--offline` (MIRADOR_OFFLINE, `offline: true` in config)
 * refuses before any request. The hash of a downloaded file goes into the hash cache, so loading it
 * does not hash 400 MB again.
 */
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { MiradorError } from '../../engine/errors.js'
import { downloadFile, partialPath, type DownloadProgress } from '../../lib/download.js'
import { HashCache } from './hash-cache.js'
import type { ResolvedModel } from './resolve.js'

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co'

export interface PullSettings {
  home: string
  env: Readonly<Record<string, string | undefined>>
  offline: boolean
  signal?: AbortSignal
  onProgress?: (p: DownloadProgress) => void
  /** called once a download begins (not for a file already there), with where it comes from */
  onStart?: (url: string) => void
  fetch?: typeof fetch
}

export interface PullResult {
  model: string
  path: string
  url: string
  bytes: number
  /** the file was there already (and is what the pin says, when it was checked) */
  present: boolean
  resumedFrom: number
  requests: number
  ms: number
}

export function hfEndpoint(env: PullSettings['env']): string {
  const e = env.MIRADOR_HF_ENDPOINT?.trim() || env.HF_ENDPOINT?.trim() || DEFAULT_HF_ENDPOINT
  return e.replace(/\/+$/, '')
}

/** Where the entry's file is fetched from. */
export function sourceUrl(r: ResolvedModel, env: PullSettings['env']): string | undefined {
  const hf = r.source?.hf
  if (!hf) return undefined
  const part = (s: string) => s.split('/').map(encodeURIComponent).join('/')
  return `${hfEndpoint(env)}/${part(hf.repo)}/resolve/${encodeURIComponent(hf.revision)}/${part(hf.file)}`
}

/** What `models pull NAME` says to do; also named by errors elsewhere. */
export function pullCommand(name: string): string {
  return `mirador models pull ${name}`
}

export async function pullModel(r: ResolvedModel, s: PullSettings): Promise<PullResult> {
  const url = sourceUrl(r, s.env)
  const file = r.localFile?.path
  const sha256 = r.files.find((f) => f.role === 'base')?.sha256?.value
  if (!url || !file || !sha256) {
    const why =
      r.runtime === 'ollama'
        ? `${r.name} is an Ollama model: Ollama pulls it (\`ollama pull ${r.spec.base}\`, ` +
          `or \`mirador models load ${r.name}\`)`
        : `${r.name} has no source: in models/manifest.yaml to download it from; ` +
          `put its GGUF file at ${file ?? 'its base'}`
    throw new MiradorError('USAGE', why)
  }
  const started = { model: r.name, path: file, url, resumedFrom: 0, requests: 0 }
  if (existsSync(file)) {
    const { size } = await stat(file)
    return { ...started, bytes: size, present: true, ms: 0 }
  }
  if (s.offline) {
    const partial = existsSync(partialPath(file)) ? ' (a partial download is kept for then)' : ''
    throw new MiradorError(
      'MODEL_DOWNLOAD',
      `${r.name} is not downloaded and --offline (or MIRADOR_OFFLINE) forbids downloading it. ` +
        `Run \`${pullCommand(r.name)}\` when online${partial}, or copy the file to ${file}.`,
      { details: { model: r.name, file, offline: true } },
    )
  }
  s.onStart?.(url)
  const got = await downloadFile({
    url,
    dest: file,
    sha256,
    ...(r.source?.size_bytes !== undefined ? { size: r.source.size_bytes } : {}),
    retryHint: pullCommand(r.name),
    ...(s.signal ? { signal: s.signal } : {}),
    ...(s.onProgress ? { onProgress: s.onProgress } : {}),
    ...(s.fetch ? { fetch: s.fetch } : {}),
  })
  // the file was hashed on its way in: loading it need not read it again
  const st = await stat(file)
  await new HashCache(s.home)
    .put({ path: file, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }, sha256)
    .catch(() => {})
  return {
    ...started,
    bytes: got.bytes,
    present: false,
    resumedFrom: got.resumedFrom,
    requests: got.requests,
    ms: got.ms,
  }
}
