import { Args } from '@oclif/core'
import type { ForgetRequest } from '../../engine/types.js'
import { confirm, memorySetup, removedList, yesFlag } from '../memory/base.js'
import { MiradorCommand } from '../base.js'

export default class SessionRm extends MiradorCommand {
  static summary = 'Delete a conversation: its turns and the memories made in it.'
  static description = 'The same as `mirador memory forget --session NAME`.'
  static examples = ['<%= config.bin %> session rm planning', '<%= config.bin %> session rm planning --yes']
  static args = { name: Args.string({ description: 'the session name', required: true }) }
  static flags = { yes: yesFlag }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(SessionRm)
    await confirm(`Delete session "${args.name}" and its memories? This cannot be undone.`, flags.yes)
    const s = await memorySetup(flags.config as string | undefined)
    const req: ForgetRequest = { session: args.name, removed: {} }
    await s.engine.hooks.forget.promise(req)
    if (!this.jsonEnabled()) this.log(`✓ removed ${removedList(req.removed) || 'nothing (no such session)'}`)
    return { removed: req.removed }
  }
}
