import { Args, Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import type { ForgetRequest } from '../../engine/types.js'
import { MiradorCommand } from '../base.js'
import { confirm, memorySetup, yesFlag } from './base.js'

export default class MemoryForget extends MiradorCommand {
  static summary = 'Forget memories: one by id, a session, everything before a date, or all.'
  static description =
    'Removes the vectors and the documents from the store, the session turns, what waits in the outbox, ' +
    'and what every other plugin kept of those runs (each plugin that keeps anything taps the forget hook). ' +
    "Then purges them from the store's files: the collection is rebuilt and Chroma's files vacuumed, with " +
    "the local memory server stopped for a moment (other runs wait). --all removes the local store's data " +
    'and replaces the memory key, so nothing sealed before can be opened again. ' +
    'Asks first; --yes skips the question.'
  static examples = [
    '<%= config.bin %> memory forget m_mwyf2k3x9a1b2c',
    '<%= config.bin %> memory forget --session planning',
    '<%= config.bin %> memory forget --before 2026-01-01',
    '<%= config.bin %> memory forget --all --yes',
  ]
  static args = { id: Args.string({ description: 'a memory id', required: false }) }
  static flags = {
    session: Flags.string({ description: 'Forget this session: its memories and its turns.', helpValue: 'NAME' }),
    before: Flags.string({
      description: 'Forget what was made before this date (YYYY-MM-DD or an ISO time).',
      helpValue: 'DATE',
    }),
    all: Flags.boolean({ description: 'Forget everything.' }),
    yes: yesFlag,
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MemoryForget)
    const chosen = [args.id, flags.session, flags.before, flags.all || undefined].filter((x) => x !== undefined)
    if (chosen.length !== 1)
      throw new MiradorError('USAGE', 'say what to forget: one of ID, --session NAME, --before DATE or --all')
    let before: number | undefined
    if (flags.before !== undefined) {
      before = Date.parse(flags.before)
      if (!Number.isFinite(before))
        throw new MiradorError('USAGE', `--before ${flags.before} is not a date: use YYYY-MM-DD or an ISO time`)
    }
    const what = args.id
      ? `memory ${args.id}`
      : flags.session
        ? `session "${flags.session}" and its memories`
        : flags.all
          ? 'EVERYTHING Mirador remembers'
          : `everything made before ${flags.before}`
    await confirm(`Forget ${what}? This cannot be undone.`, flags.yes)
    const s = await memorySetup(flags.config as string | undefined)
    const req: ForgetRequest = {
      removed: {},
      ...(args.id ? { ids: [args.id] } : {}),
      ...(flags.session ? { session: flags.session } : {}),
      ...(before !== undefined ? { before } : {}),
      ...(flags.all ? { all: true } : {}),
    }
    // the purge rebuilds the store from what remains: seconds with thousands of memories
    if (!this.jsonEnabled()) this.logToStderr("Forgetting, then purging it from the store's files…")
    await s.engine.hooks.forget.promise(req)
    if (!this.jsonEnabled()) {
      const parts = Object.entries(req.removed)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`)
      this.log(parts.length ? `✓ forgot ${parts.join(', ')}` : 'Nothing matched: nothing was forgotten.')
    }
    return { removed: req.removed }
  }
}
