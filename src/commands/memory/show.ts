import { Args } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, when } from './base.js'

export default class MemoryShow extends MiradorCommand {
  static summary = 'Show one memory: its text and where it came from.'
  static examples = [
    '<%= config.bin %> memory show m_mwyf2k3x9a1b2c',
    '<%= config.bin %> memory show m_mwyf2k3x9a1b2c --json',
  ]
  static args = { id: Args.string({ description: 'a memory id (from memory ls, or a memory event)', required: true }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MemoryShow)
    const s = await memorySetup(flags.config as string | undefined)
    const [m] = await (await s.memory.store()).get({ ids: [args.id] })
    if (!m) throw new MiradorError('USAGE', `no memory ${args.id}: see \`mirador memory ls\``)
    if (!this.jsonEnabled()) {
      const session = m.meta.session ? `, session ${m.meta.session}` : ''
      const from =
        m.meta.kind === 'import'
          ? `imported by \`memory import\` (${m.meta.runId})`
          : `${m.meta.kind} from run ${m.meta.runId} of ${m.meta.chain}`
      const ref = m.meta.ref !== undefined ? `, ref ${JSON.stringify(m.meta.ref)}` : ''
      this.log(`${m.id}  ${from}${session}${ref}`)
      const last = m.meta.lastRecalledAt ? `, last ${when(m.meta.lastRecalledAt)}` : ''
      this.log(`made ${when(m.meta.createdAt)}; recalled ${m.meta.recalls} time(s)${last}`)
      this.log('')
      this.log(safeText(m.text))
    }
    return m
  }
}
