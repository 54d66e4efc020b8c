import { chainFolders, type ChainSource } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import { conflictError, listChains, shownPath } from '../../cli/chain-files.js'
import { loadChain } from '../../cli/chain-load.js'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'

export interface ChainSummary {
  name: string
  file: string
  source: ChainSource
  shadowed: boolean
  /** other files of the same folder that claim the same name (a conflict `chain run` refuses) */
  conflicts?: string[]
  description?: string
  stages?: { stage: string; model: string }[]
  error?: { code: string; message: string }
}

export default class ChainLs extends MiradorCommand {
  static summary = 'List the chains you can run.'
  static description =
    'Looks in ./chains, then $MIRADOR_HOME/chains, then the chains shipped with Mirador. ' +
    "A chain's name is its name: key, else its file name; a chain in an earlier place hides one of the same " +
    'name in a later place (shown as shadowed). Two files of one folder that claim the same name are a ' +
    'conflict: both are listed, with a warning, and `chain run` refuses the name. ' +
    'Invalid chains are listed with their first error.'
  static examples = ['<%= config.bin %> chain ls', '<%= config.bin %> chain ls --json']

  async run(): Promise<ChainSummary[]> {
    const { flags } = await this.parse(ChainLs)
    const cwd = process.cwd()
    // plugins may add stage keys, so chains are checked with them
    const { engine, home } = await setup({ cwd, ...(flags.config ? { config: flags.config as string } : {}) })
    const folders = chainFolders(cwd, home)
    const entries = listChains(folders.map((f) => f.dir))
    const out: ChainSummary[] = []
    for (const c of entries) {
      const item: ChainSummary = {
        name: c.name,
        file: shownPath(c.file, cwd),
        source: folders[c.folder]!.source,
        shadowed: c.shadowed,
        ...(c.conflicts.length ? { conflicts: c.conflicts.map((f) => shownPath(f, cwd)) } : {}),
      }
      try {
        const chain = await loadChain(c.file, engine.stageKeys())
        if (chain.value.description) item.description = chain.value.description
        item.stages = Object.entries(chain.value.stages).map(([stage, s]) => ({ stage, model: s.model }))
      } catch (err) {
        const e = MiradorError.from(err)
        item.error = { code: e.code, message: e.format() }
      }
      out.push(item)
    }
    if (!this.jsonEnabled()) {
      if (out.length === 0) this.log('No chains found. Copy one from the shipped chains/ into ./chains to start.')
      for (const c of out) {
        const flags = [c.source, c.shadowed ? 'shadowed' : '', c.conflicts ? 'name conflict' : '']
          .filter(Boolean)
          .join(', ')
        const stages = c.stages
          ? c.stages.map((s) => `${s.stage}(${s.model})`).join(' ')
          : `INVALID ${c.error?.code}: ${c.error?.message}`
        this.log(`${c.name.padEnd(16)} ${stages}  [${flags}]`)
        if (c.description) this.log(`${''.padEnd(16)} ${c.description}`)
      }
    }
    // once per conflict, on stderr, with --json too
    for (const c of entries.filter((e) => e.conflicts.length && e.conflicts.every((f) => f > e.file)))
      this.logToStderr(`⚠ ${conflictError(c.name, [c.file, ...c.conflicts], cwd).message}`)
    return out
  }
}
