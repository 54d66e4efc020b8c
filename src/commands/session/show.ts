import { Args } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { MiradorError } from '../../engine/errors.js'
import { memorySetup, when } from '../memory/base.js'
import { MiradorCommand } from '../base.js'

export default class SessionShow extends MiradorCommand {
  static summary = 'Show a conversation: its turns, and the summary of its older ones.'
  static examples = ['<%= config.bin %> session show planning', '<%= config.bin %> session show planning --json']
  static args = { name: Args.string({ description: 'the session name', required: true }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(SessionShow)
    const s = await memorySetup(flags.config as string | undefined)
    const session = await (await s.memory.sessions()).readSession(args.name)
    if (!session) throw new MiradorError('USAGE', `no session "${args.name}": see \`mirador session ls\``)
    if (!this.jsonEnabled()) {
      if (session.summary) this.log(`Summary of the earlier turns:\n${safeText(session.summary.text)}\n`)
      for (const t of session.turns)
        this.log(`— ${when(t.at)} (${t.chain}, ${t.runId})\nQ: ${safeText(t.query)}\nA: ${safeText(t.answer)}\n`)
    }
    return session
  }
}
