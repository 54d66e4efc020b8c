import { Flags } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, oneLine, storeNotes, when } from './base.js'

export default class MemoryLs extends MiradorCommand {
  static summary = 'List what Mirador remembers, newest first.'
  static description =
    'Each memory with its id (to show or forget it), date, chain, session, how often it was recalled, ' +
    'and the start of its text. ' +
    'Memories waiting in the outbox (the store was down when they were made) are counted too.'
  static examples = [
    '<%= config.bin %> memory ls',
    '<%= config.bin %> memory ls --session planning --limit 50',
    '<%= config.bin %> memory ls --json',
  ]
  static flags = {
    session: Flags.string({ description: "Only this session's memories.", helpValue: 'NAME' }),
    limit: Flags.integer({ description: 'How many at most.', default: 20, min: 1 }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(MemoryLs)
    const s = await memorySetup(flags.config as string | undefined)
    const store = await s.memory.store()
    const all = await store.get({ ...(flags.session ? { session: flags.session } : {}) })
    const memories = all.sort((a, b) => b.meta.createdAt - a.meta.createdAt).slice(0, flags.limit)
    const waiting = await (await s.memory.outbox()).size()
    const notes = await storeNotes(s.memory)
    if (!this.jsonEnabled()) {
      if (memories.length === 0) this.log('No memories yet: they are made after each run (unless --no-memory).')
      for (const m of memories) {
        const session = m.meta.session ? ` [${m.meta.session}]` : ''
        const text = safeText(oneLine(m.text))
        this.log(`${m.id}  ${when(m.meta.createdAt)}  ${m.meta.chain}${session}  ×${m.meta.recalls}  ${text}`)
      }
      const shown = all.length > memories.length ? `, ${memories.length} shown` : ''
      this.log(`${all.length} memories${shown}${waiting ? `; ${waiting} waiting in the outbox` : ''}`)
      for (const w of notes.warnings) this.logToStderr(`! ${w}`)
    }
    return { total: all.length, waiting, memories, unreadable: notes.unreadable }
  }
}
