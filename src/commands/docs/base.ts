/** What the docs commands share: the memory plugin's documents, and how an indexing is reported. */
import { progressBar } from '../../cli/progress.js'
import { bytes } from '../../cli/render/format.js'
import type { Docs } from '../../plugins/memory/docs/docs.js'
import { shownPath } from '../../plugins/memory/docs/passages.js'
import type { SyncReport } from '../../plugins/memory/docs/sync.js'
import type { MiradorCommand } from '../base.js'
import { memorySetup, plural } from '../memory/base.js'

export async function docsSetup(config?: string): Promise<Docs> {
  return (await memorySetup(config)).memory.docs()
}

/**
 * Runs an indexing with a progress bar (files) on standard error, and says how it went: what was
 * left out on standard error, the counts on standard output. The --json value: the report with its
 * time and throughput.
 */
export async function indexWithProgress(
  cmd: MiradorCommand,
  json: boolean,
  index: (onProgress: (done: number, total: number) => void) => Promise<SyncReport>,
): Promise<SyncReport & { ms: number; mbPerSecond: number }> {
  const bar = progressBar({ label: 'indexing', unit: 'files', quiet: json })
  const t0 = performance.now()
  let report: SyncReport
  try {
    report = await index((done, total) => bar.update(done, total))
  } finally {
    bar.end()
  }
  const ms = Math.round(performance.now() - t0)
  const mbPerSecond = ms > 0 ? Math.round((report.bytes / 1e6 / (ms / 1000)) * 100) / 100 : 0
  if (!json) {
    for (const s of report.skipped) cmd.logToStderr(`skipped ${shownPath(s.path)}: ${s.reason}`)
    if (report.ignored)
      cmd.logToStderr(
        `${plural(report.ignored, 'file')} of other kinds left out (Markdown, text and source code are ` +
          'indexed by default; --include GLOB chooses others)',
      )
    if (report.redacted) cmd.logToStderr(`secrets redacted in ${plural(report.redacted, 'passage')} (as in memories)`)
    const indexed = report.added + report.changed
    const size = indexed ? ` (${plural(report.chunks, 'passage')}, ${bytes(report.bytes)})` : ''
    cmd.log(
      `✓ indexed ${plural(indexed, 'file')}${size}: ${report.added} added, ${report.changed} changed, ` +
        `${report.removed} removed, ${report.unchanged} unchanged`,
    )
  }
  return { ...report, skipped: report.skipped.map((s) => ({ ...s, path: shownPath(s.path) })), ms, mbPerSecond }
}
