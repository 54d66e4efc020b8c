import { Args, Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import type { ForgetRequest } from '../../engine/types.js'
import type { MemoryPlugin } from '../../plugins/memory/index.js'
import { MiradorCommand } from '../base.js'
import { confirm, memorySetup, plural, removedList, yesFlag } from './base.js'

/** what `memory ls` shows: `m_` and base-36 time and hex */
const MEMORY_ID = /^m_[0-9a-z]+$/

export default class MemoryForget extends MiradorCommand {
  static summary = 'Forget memories: by id (one or several), a session, everything before a date, or all.'
  static description =
    'Removes the vectors and the documents from the store, the session turns, what waits in the outbox, ' +
    'and what every other plugin kept of those runs (each plugin that keeps anything taps the forget hook). ' +
    "Then purges them from the store's files: the collection is rebuilt and Chroma's files vacuumed, with " +
    'the local memory server stopped for a moment (other runs wait). --all also empties the index of your ' +
    "documents (`mirador docs`), removes the local store's data and replaces the memory key, so nothing " +
    'sealed before can be opened again. ' +
    'Asks first; --yes skips the question.'
  static examples = [
    '<%= config.bin %> memory forget m_mwyf2k3x9a1b2c',
    '<%= config.bin %> memory forget m_mwyf2k3x9a1b2c m_mwyf3a0c4d5e6f --yes',
    '<%= config.bin %> memory forget --session planning',
    '<%= config.bin %> memory forget --before 2026-01-01',
    '<%= config.bin %> memory forget --all --yes',
  ]
  // several ids: the args after the first are taken as more ids (checked below, so a mistyped flag is not one)
  static strict = false
  static args = {
    id: Args.string({ description: 'memory ids (from memory ls), one or more', required: false, ignoreStdin: true }),
  }
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
    const { argv, flags } = await this.parse(MemoryForget)
    const ids = [...new Set(argv as string[])]
    const bad = ids.find((id) => !MEMORY_ID.test(id))
    if (bad !== undefined)
      throw new MiradorError(
        'USAGE',
        bad.startsWith('-')
          ? `unknown flag ${bad}: see \`mirador memory forget --help\``
          : `${JSON.stringify(bad)} is not a memory id: ids look like m_mwyf2k3x9a1b2c (see \`mirador memory ls\`)`,
      )
    const chosen = [ids.length ? ids : undefined, flags.session, flags.before, flags.all || undefined].filter(
      (x) => x !== undefined,
    )
    if (chosen.length !== 1)
      throw new MiradorError(
        'USAGE',
        'say what to forget, one way at a time: ID… (one or more ids), --session NAME, --before DATE or --all',
      )
    let before: number | undefined
    if (flags.before !== undefined) {
      before = Date.parse(flags.before)
      if (!Number.isFinite(before))
        throw new MiradorError('USAGE', `--before ${flags.before} is not a date: use YYYY-MM-DD or an ISO time`)
    }
    const s = ids.length ? await memorySetup(flags.config as string | undefined) : undefined
    const found = s ? await this.existing(s.memory, ids) : []
    const what = found.length
      ? found.length === 1
        ? `memory ${found[0]}`
        : `${plural(found.length, 'memory', 'memories')} (${found.join(', ')})`
      : flags.session
        ? `session "${flags.session}" and its memories`
        : flags.all
          ? 'EVERYTHING Mirador remembers'
          : `everything made before ${flags.before}`
    await confirm(`Forget ${what}? This cannot be undone.`, flags.yes)
    const setUp = s ?? (await memorySetup(flags.config as string | undefined))
    const req: ForgetRequest = {
      removed: {},
      ...(found.length ? { ids: found } : {}),
      ...(flags.session ? { session: flags.session } : {}),
      ...(before !== undefined ? { before } : {}),
      ...(flags.all ? { all: true } : {}),
    }
    // the purge rebuilds the store from what remains: seconds with thousands of memories
    if (!this.jsonEnabled()) this.logToStderr("Forgetting, then purging it from the store's files…")
    await setUp.engine.hooks.forget.promise(req)
    if (!this.jsonEnabled()) {
      const list = removedList(req.removed)
      this.log(list ? `✓ forgot ${list}` : 'Nothing matched: nothing was forgotten.')
    }
    return { removed: req.removed, ...(ids.length ? { missing: ids.filter((id) => !found.includes(id)) } : {}) }
  }

  /** the ids that name a memory; the others are said (all of them unknown: an error, nothing is asked) */
  private async existing(memory: MemoryPlugin, ids: string[]): Promise<string[]> {
    const there = new Set((await (await memory.store()).get({ ids })).map((m) => m.id))
    const missing = ids.filter((id) => !there.has(id))
    if (missing.length === ids.length)
      throw new MiradorError(
        'USAGE',
        `no memory ${missing.join(', ')}: nothing was forgotten. See \`mirador memory ls\` for the ids.`,
      )
    if (missing.length && !this.jsonEnabled()) this.logToStderr(`no memory ${missing.join(', ')}: left out`)
    return ids.filter((id) => there.has(id))
  }
}
