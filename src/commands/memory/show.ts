import { Args } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { MiradorError } from '../../engine/errors.js'
import type { MemoryPlugin } from '../../plugins/memory/index.js'
import { tuningFor } from '../../plugins/memory/recall.js'
import { updatesAround } from '../../plugins/memory/supersede.js'
import type { StoredMemory, VectorHit } from '../../plugins/memory/types.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, oneLine, when } from './base.js'

export default class MemoryShow extends MiradorCommand {
  static summary = 'Show one memory: its text, where it came from, and the memories that update it or that it updates.'
  static description =
    'A later memory updates (supersedes) an earlier one when their vectors are close and they share a word ' +
    'none of their nearest memories holds (a name, a place, a number): recall then ranks the newer one first. ' +
    'Compared with its nearest memories; with the hashing embedder nothing is compared.'
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
    const updates = await updatesOf(s.memory, m)
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
      const about = (x: StoredMemory) => `${x.id} (made ${when(x.meta.createdAt)})  ${safeText(oneLine(x.text, 60))}`
      for (const x of updates.supersededBy) this.log(`superseded by ${about(x)}`)
      for (const x of updates.supersedes) this.log(`supersedes ${about(x)}`)
      this.log('')
      this.log(safeText(m.text))
    }
    return {
      ...m,
      supersededBy: updates.supersededBy.map((x) => x.id),
      supersedes: updates.supersedes.map((x) => x.id),
    }
  }
}

/**
 * The memories that update `m` and that `m` updates (supersede.ts), among as many of its nearest
 * memories as recall compares for a question. Its vector is its text embedded again.
 */
async function updatesOf(
  memory: MemoryPlugin,
  m: StoredMemory,
): Promise<{ supersededBy: StoredMemory[]; supersedes: StoredMemory[] }> {
  const embedder = memory.embedder()
  const tuning = tuningFor(embedder.id)
  if (!tuning.supersede) return { supersededBy: [], supersedes: [] }
  const [vector] = await embedder.embed([m.text])
  if (!vector) return { supersededBy: [], supersedes: [] }
  const near = await (await memory.store()).query(vector, memory.options.k * tuning.overfetch)
  const self: VectorHit = near.find((h) => h.id === m.id) ?? { ...m, distance: 0, embedding: vector }
  return updatesAround(self, near, tuning.supersede.similarity)
}
