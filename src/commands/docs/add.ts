import { Args, Flags } from '@oclif/core'
import { MiradorCommand } from '../base.js'
import { docsSetup, indexWithProgress } from './base.js'

export default class DocsAdd extends MiradorCommand {
  static summary = 'Index folders and files so runs and `docs search` can find what they say.'
  static description =
    'Markdown, text and source code are indexed by default (--include chooses other files, --exclude leaves ' +
    'some out; a glob without a slash matches a name at any depth). Hidden files and folders, node_modules, ' +
    'binary files and files over --max-size are left out, with a note for those a rule chose. ' +
    'Files are cut into passages on headings and paragraphs, with their line numbers, embedded with the memory ' +
    'embedder and encrypted like memories. Adding a path again indexes only the files whose content changed, ' +
    'and drops those that are gone; its rules are replaced when you give new ones. ' +
    'A progress bar is drawn on standard error (plain lines off a terminal, nothing with --json).'
  static examples = [
    '<%= config.bin %> docs add ~/notes',
    '<%= config.bin %> docs add ~/notes README.md --json',
    "<%= config.bin %> docs add ~/code/app --include '*.ts' --include '*.md' --exclude test",
  ]
  static strict = false
  static args = {
    path: Args.string({ description: 'folders and files to index, one or more', required: true, ignoreStdin: true }),
  }
  static flags = {
    include: Flags.string({
      description: 'Index only files matching this glob (again for more): replaces the default kinds.',
      multiple: true,
      helpValue: 'GLOB',
    }),
    exclude: Flags.string({
      description: 'Leave out files and folders matching this glob (again for more).',
      multiple: true,
      helpValue: 'GLOB',
    }),
    'max-size': Flags.integer({
      description: 'Leave out files larger than this many MB (default 2).',
      min: 1,
      max: 1024,
    }),
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(DocsAdd)
    const docs = await docsSetup(flags.config as string | undefined)
    const rules = {
      ...(flags.include ? { include: flags.include } : {}),
      ...(flags.exclude ? { exclude: flags.exclude } : {}),
      ...(flags['max-size'] ? { maxBytes: flags['max-size'] * 1024 * 1024 } : {}),
    }
    return indexWithProgress(this, this.jsonEnabled(), (onProgress) => docs.add(argv as string[], rules, onProgress))
  }
}
