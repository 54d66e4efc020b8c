import { Args, Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { shownPath } from '../../plugins/memory/docs/passages.js'
import { MiradorCommand } from '../base.js'
import { plural } from '../memory/base.js'
import { docsSetup } from './base.js'

export default class DocsRm extends MiradorCommand {
  static summary = 'Stop indexing folders or files: their passages, vectors and index entries are removed.'
  static description =
    'A path you added is removed with everything indexed from it. A folder or file inside one you added is ' +
    'excluded from it from now on (so `docs sync` does not bring it back) and its passages removed. ' +
    "Then purges them from the store's files (as memory forget does: seconds with thousands of passages). " +
    'Your files themselves are not touched. --all removes every document from the index.'
  static examples = [
    '<%= config.bin %> docs rm ~/notes',
    '<%= config.bin %> docs rm ~/notes/private',
    '<%= config.bin %> docs rm --all',
  ]
  static strict = false
  static args = {
    path: Args.string({ description: 'folders and files to stop indexing', required: false, ignoreStdin: true }),
  }
  static flags = {
    all: Flags.boolean({ description: 'Remove every document from the index.' }),
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(DocsRm)
    const paths = argv as string[]
    const flag = paths.find((p) => p.startsWith('-'))
    if (flag !== undefined) throw new MiradorError('USAGE', `unknown flag ${flag}: see \`mirador docs rm --help\``)
    if (flags.all === paths.length > 0)
      throw new MiradorError('USAGE', 'say what to stop indexing: mirador docs rm PATH… (or --all, alone)')
    const docs = await docsSetup(flags.config as string | undefined)
    // a delete leaves passages in the store's files: the purge after it takes seconds with thousands
    const purge = { onPurge: () => this.jsonEnabled() || this.logToStderr("Purging them from the store's files…") }
    if (flags.all) {
      const files = await docs.removeAll(purge)
      if (!this.jsonEnabled())
        this.log(files ? `✓ removed every document from the index (${plural(files, 'file')})` : 'Nothing was indexed.')
      return { all: true, files }
    }
    const report = await docs.remove(paths, purge)
    if (!this.jsonEnabled()) {
      for (const e of report.excluded) this.log(`✓ ${e.glob} is now excluded from ${shownPath(e.root)}/`)
      const roots = report.roots.length ? `${report.roots.map((r) => shownPath(r)).join(', ')}; ` : ''
      this.log(
        `✓ removed ${roots}${plural(report.files, 'file')} and ${plural(report.chunks, 'passage')} from the index`,
      )
    }
    return {
      ...report,
      roots: report.roots.map((r) => shownPath(r)),
      excluded: report.excluded.map((e) => ({ root: shownPath(e.root), glob: e.glob })),
    }
  }
}
