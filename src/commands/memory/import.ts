import { Args } from '@oclif/core'
import { progressBar } from '../../cli/progress.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, plural } from './base.js'

export default class MemoryImport extends MiradorCommand {
  static summary = 'Import memories from a JSONL file: one {"text", "at"?, "session"?, "ref"?} a line.'
  static description =
    'Each line becomes a memory as a run would make it: secrets redacted, embedded, encrypted at rest. ' +
    '"at" is when it was made (an ISO time; default now), "session" the conversation it belongs to, ' +
    '"ref" your own id for it (a string or a number), given back by `memory search`. ' +
    'A bad line is reported by its number and skipped; the others are imported. ' +
    'A progress bar is drawn on standard error (plain lines when it is not a terminal, nothing with --json).'
  static examples = [
    '<%= config.bin %> memory import notes.jsonl',
    '<%= config.bin %> memory import eval/memories.jsonl --json',
  ]
  static args = {
    file: Args.string({ description: 'a JSONL file, one memory a line', required: true, ignoreStdin: true }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MemoryImport)
    const s = await memorySetup(flags.config as string | undefined)
    const bar = progressBar({ label: 'importing', unit: 'lines', quiet: this.jsonEnabled() })
    let report
    try {
      report = await s.memory.importFile(args.file, (p, total) => bar.update(p.lines, total))
    } finally {
      bar.end()
    }
    if (report.imported === 0 && report.skipped > 0) process.exitCode = 1
    if (!this.jsonEnabled()) {
      for (const e of report.errors) this.logToStderr(`line ${e.line}: ${e.message}`)
      const unlisted = report.skipped - report.errors.length
      if (unlisted > 0) this.logToStderr(`… and ${unlisted} more bad lines`)
      const skipped = report.skipped ? `; ${plural(report.skipped, 'bad line')} skipped` : ''
      const redacted = report.redacted ? `; secrets redacted in ${plural(report.redacted, 'memory', 'memories')}` : ''
      this.log(`✓ imported ${plural(report.imported, 'memory', 'memories')} from ${args.file}${skipped}${redacted}`)
    }
    return { file: args.file, ...report }
  }
}
