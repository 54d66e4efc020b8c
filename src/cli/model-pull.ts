/**
 * Downloads a manifest entry's GGUF file with a progress bar on standard error (bytes, rate, time
 * left on a terminal; a line per tenth otherwise): `mirador models pull`, and the download a
 * terminal run offers when the embedded model it needed was missing (offer-pull.ts). Ctrl-C stops
 * it and keeps what arrived, so the next pull resumes.
 */
import type { EngineSettings } from '../engine/engine.js'
import { MiradorError } from '../engine/errors.js'
import { pullModel, type PullResult } from '../plugins/models/pull.js'
import type { ResolvedModel } from '../plugins/models/resolve.js'
import { progressBar } from './progress.js'
import { bytes, safeText } from './render/format.js'

export async function pullWithProgress(
  r: ResolvedModel,
  settings: Readonly<EngineSettings>,
  opts: { quiet: boolean; offline?: boolean },
): Promise<PullResult> {
  const size = r.source?.size_bytes
  const bar = progressBar({ label: `pulling ${r.name}`, unit: 'MB', bytes: true, quiet: opts.quiet })
  const say = (text: string) => !opts.quiet && process.stderr.write(`${safeText(text)}\n`)
  const controller = new AbortController()
  const onSigint = () => controller.abort(new MiradorError('ABORTED', 'interrupted'))
  process.once('SIGINT', onSigint)
  try {
    return await pullModel(r, {
      home: settings.home,
      env: settings.env,
      offline: settings.offline || opts.offline === true,
      signal: controller.signal,
      onProgress: (p) => bar.update(p.done, p.total ?? size ?? 0),
      onStart: (url) => say(`${r.name}: ${url}${size ? ` (${bytes(size)})` : ''}`),
    })
  } finally {
    bar.end()
    process.off('SIGINT', onSigint)
  }
}

/** "downloaded to PATH (398.0 MB at 35.2 MB/s, resumed at 120.0 MB), sha256 verified" */
export function pulledText(p: PullResult): string {
  const size = bytes
  const fresh = p.bytes - p.resumedFrom
  const rate = p.ms > 0 ? ` at ${size((fresh * 1000) / p.ms)}/s` : ''
  const resumed = p.resumedFrom ? `, resumed at ${size(p.resumedFrom)}` : ''
  return `downloaded to ${p.path} (${size(p.bytes)}${rate}${resumed}), sha256 verified`
}
