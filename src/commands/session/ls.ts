import { memorySetup, when } from '../memory/base.js'
import { MiradorCommand } from '../base.js'

export default class SessionLs extends MiradorCommand {
  static summary = 'List conversations (sessions), most recent first.'
  static examples = ['<%= config.bin %> session ls', '<%= config.bin %> session ls --json']

  async run(): Promise<unknown> {
    const { flags } = await this.parse(SessionLs)
    const s = await memorySetup(flags.config as string | undefined)
    const sessions = await (await s.memory.sessions()).listSessions()
    if (!this.jsonEnabled()) {
      if (sessions.length === 0)
        this.log('No sessions yet: start one with `mirador chain run CHAIN "…" --session NAME`.')
      for (const x of sessions)
        this.log(`${x.name.padEnd(24)} ${String(x.turns).padStart(4)} turns  last ${when(x.updated)}`)
    }
    return sessions
  }
}
