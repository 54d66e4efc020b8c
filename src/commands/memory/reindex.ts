import { progressBar } from '../../cli/progress.js'
import { MiradorCommand } from '../base.js'
import { indexWithProgress } from '../docs/base.js'
import { memorySetup, plural } from './base.js'

export default class MemoryReindex extends MiradorCommand {
  static summary = 'Embed every memory again with the embedder config names, keeping them all on the way.'
  static description =
    'Memories live in a collection of the embedder that made them; after you change `embed:` in the memory ' +
    'options, runs keep recalling them as they are. This embeds each one again with the new embedder, in a ' +
    'collection of its own; the old one stays in use until the new one holds every memory, then it takes over ' +
    'and the old one is emptied. An interrupted reindex loses nothing: run it again and it goes on where it ' +
    'stopped. Your documents (`docs add`) are embedded again too. ' +
    'A progress bar is drawn on standard error (plain lines off a terminal, nothing with --json).'
  static examples = ['<%= config.bin %> memory reindex', '<%= config.bin %> memory reindex --json']

  async run(): Promise<unknown> {
    const { flags } = await this.parse(MemoryReindex)
    const s = await memorySetup(flags.config as string | undefined)
    const bar = progressBar({ label: 'embedding again', unit: 'memories', quiet: this.jsonEnabled() })
    let report
    try {
      report = await s.memory.reindex((done, total) => bar.update(done, total))
    } finally {
      bar.end()
    }
    if (!this.jsonEnabled()) {
      this.log(
        report.from === report.to
          ? `✓ memories are already embedded with ${report.to}, the embedder config names: nothing to do`
          : `✓ ${plural(report.total, 'memory', 'memories')} now embedded with ${report.to} (was ${report.from})`,
      )
    }
    // documents follow memory's embedder: a sync embeds them again when it changed (and catches up on edits)
    const docs = s.memory.docs()
    if (!(await docs.indexed())) return report
    return { ...report, docs: await indexWithProgress(this, this.jsonEnabled(), (p) => docs.sync(p)) }
  }
}
