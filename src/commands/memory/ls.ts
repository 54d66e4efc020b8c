import { Flags } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { displayWidth } from '../../cli/render/layout.js'
import type { StoredMemory } from '../../plugins/memory/types.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, oneLine, plural, storeNotes, when } from './base.js'

export default class MemoryLs extends MiradorCommand {
  static summary = 'List what Mirador remembers, newest first.'
  static description =
    'Each memory with its id (to show or forget it), when it was made (UTC), the chain that made it ' +
    '(import for an imported one) and its session, RECALLED: how many times it was put into a prompt, ' +
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
      else this.table(memories)
      const shown = all.length > memories.length ? `, ${memories.length} shown` : ''
      this.log(
        `${plural(all.length, 'memory', 'memories')}${shown}${waiting ? `; ${waiting} waiting in the outbox` : ''}`,
      )
      for (const w of notes.warnings) this.logToStderr(`! ${w}`)
    }
    return { total: all.length, waiting, memories, unreadable: notes.unreadable }
  }

  /** one row a memory under a header, columns aligned (RECALLED is the ×N count of injections) */
  private table(memories: StoredMemory[]): void {
    const rows = memories.map((m) => [
      m.id,
      when(m.meta.createdAt),
      safeText(m.meta.session ? `${m.meta.chain} [${m.meta.session}]` : m.meta.chain),
      `×${m.meta.recalls}`,
      safeText(oneLine(m.text)),
    ])
    const header = ['ID', 'MADE (UTC)', 'CHAIN [SESSION]', 'RECALLED', 'TEXT']
    const widths = header.map((h, i) => Math.max(...[header, ...rows].map((r) => displayWidth(r[i]!))))
    const pad = (c: string, i: number) => (i < header.length - 1 ? c + ' '.repeat(widths[i]! - displayWidth(c)) : c)
    for (const r of [header, ...rows]) this.log(r.map(pad).join('  '))
  }
}
