/**
 * Analyzes files and folders: every JavaScript file found is read (regular files only, with a
 * size bound) and analyzed; what cannot be analyzed is itself a finding, so nothing is skipped
 * silently.
 */
import { readRegularFile } from '../read-regular-file.js'
import { analyzeSource } from './analyze-file.js'
import { listJsFiles } from './files.js'
import { severityOf } from './rules.js'
import type { AnalyzeOptions, Finding } from './types.js'

export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
export const DEFAULT_MAX_FILES = 20_000

export interface Analysis {
  findings: Finding[]
  /** files analyzed */
  files: number
  /** bytes of JavaScript analyzed */
  bytes: number
}

/** What a finding about a whole file (skipped, unreadable) looks like. */
function fileFinding(file: string, message: string, options: AnalyzeOptions): Finding {
  return {
    rule: 'skipped-file',
    severity: severityOf('skipped-file', options.profile ?? 'plugin'),
    file,
    line: 1,
    column: 1,
    message,
  }
}

export async function analyzePaths(paths: string[], options: AnalyzeOptions = {}): Promise<Analysis> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES
  const listing = await listJsFiles(paths, maxFiles)
  const findings = listing.skipped.map((s) => fileFinding(s.file, `not analyzed: ${s.why}`, options))
  if (listing.truncated)
    findings.push(
      fileFinding(paths[0] ?? '.', `more than ${maxFiles} JavaScript files: the rest were not analyzed`, options),
    )
  let bytes = 0
  let files = 0
  for (const file of listing.files) {
    const r = await readRegularFile(file, maxBytes)
    if (r.ok) {
      files++
      bytes += r.bytes
      findings.push(...analyzeSource(file, r.text, options))
    } else
      findings.push(
        fileFinding(
          file,
          r.reason === 'not-regular'
            ? `not analyzed: ${r.kind}, not a regular file`
            : r.reason === 'too-large'
              ? `not analyzed: ${r.bytes} bytes, over the ${maxBytes} analyzed per file`
              : `not analyzed: cannot be read (${r.errno})`,
          options,
        ),
      )
  }
  return { findings, files, bytes }
}
