/**
 * After a run in a terminal whose stages needed the embedded model (Ollama not answering) and did
 * not find it downloaded: one question, and the download if the answer is yes. Asked once the run
 * is over, as `--rate` is, so it never fights the live display; the run's own error already named
 * `mirador models pull`, which is all a script or a pipe gets.
 */
import type { EngineSettings } from '../engine/engine.js'
import type { ModelsPlugin } from '../plugins/models/index.js'
import { MiradorError } from '../engine/errors.js'
import { askYesNo } from './ask.js'
import { pulledText, pullWithProgress } from './model-pull.js'
import { bytes, safeText } from './render/format.js'

export async function offerPull(
  models: ModelsPlugin | undefined,
  settings: Readonly<EngineSettings>,
  io: { stdin: { isTTY?: boolean }; stderr: { write(text: string): unknown; isTTY?: boolean } },
  /** what to do next once it is downloaded (a chat goes on: its next question answers on it) */
  next = 'Run the command again: it will answer on it.',
): Promise<void> {
  const name = models?.wantedDownload()
  if (!models || !name || !io.stdin.isTTY || !io.stderr.isTTY || settings.offline) return
  const r = await models.resolve(name)
  if (!r.source) return
  const size = r.source.size_bytes ? `, ${bytes(r.source.size_bytes)}` : ''
  const question = `Download the embedded model "${name}" now (${r.source.hf.repo}${size})? [y/N] `
  if (!(await askYesNo(safeText(question)))) return
  try {
    const got = await pullWithProgress(r, settings, { quiet: false })
    io.stderr.write(`✓ ${safeText(`${name} ${pulledText(got)}`)}. ${next}\n`)
  } catch (err) {
    const e = MiradorError.from(err)
    io.stderr.write(`✗ ${e.code}: ${safeText(e.message)}\n`)
  }
}
