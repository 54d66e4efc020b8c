/** The learner classifies with memory's embedder when memory offers one (memory.embed), else with hashing. */
import { describe, expect, it } from '@jest/globals'
import { Engine } from '../../src/engine/engine.js'
import { createHashingEmbedder } from '../../src/lib/embedder.js'
import { learnerEmbedder } from '../../src/plugins/learner/embedding.js'

function engine(memory: boolean, embed?: (args: unknown) => Promise<unknown>) {
  const e = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory, config: {} })
  if (embed) e.registerCapability('memory.embed', embed)
  return e
}

/** a stand-in for memory's embedder: the hashing embedder under another name, on 64 dimensions */
const other = createHashingEmbedder({ dims: 64 })
const asked: unknown[] = []
const memoryEmbed = async (args: unknown) => {
  asked.push(args)
  const texts = (args as { texts: string[] }).texts
  return { embedder: 'test/memory-embedder', vectors: texts.map((t) => other.vector(t).map((x) => x * 3)) }
}

describe('learnerEmbedder', () => {
  it("uses memory's embedder through memory.embed: its id, its vectors (made unit length)", async () => {
    asked.length = 0
    const e = await learnerEmbedder(engine(true, memoryEmbed))
    expect(e.id).toBe('test/memory-embedder')
    expect(asked).toEqual([{ texts: [] }]) // the probe embeds nothing
    const [v] = await e.embed(['plan my week'])
    expect(v).toHaveLength(64)
    expect(Math.hypot(...v!)).toBeCloseTo(1, 10)
    expect(v).toEqual(other.vector('plan my week').map((x) => expect.closeTo(x, 10)))
    expect(e.dims).toBe(64)
  })

  it('falls back to the hashing embedder when memory is off, absent, or does not answer', async () => {
    expect((await learnerEmbedder(engine(false, memoryEmbed))).id).toBe('hashing-v1/384')
    expect((await learnerEmbedder(engine(true))).id).toBe('hashing-v1/384')
    const failing = async () => {
      throw new Error('the memory service is down')
    }
    expect((await learnerEmbedder(engine(true, failing))).id).toBe('hashing-v1/384')
    expect((await learnerEmbedder(engine(true, async () => ({ nonsense: true })))).id).toBe('hashing-v1/384')
  })

  it('refuses an answer of the wrong shape, or from another embedder, once it has chosen', async () => {
    let answer: unknown = { embedder: 'test/memory-embedder', vectors: [] }
    const e = await learnerEmbedder(engine(true, async () => answer))
    answer = { embedder: 'test/memory-embedder', vectors: [[1, 0]] } // one vector for two texts
    await expect(e.embed(['a', 'b'])).rejects.toMatchObject({ code: 'PLUGIN_FAILED' })
    answer = { embedder: 'test/another', vectors: [[1, 0]] }
    await expect(e.embed(['a'])).rejects.toMatchObject({ code: 'PLUGIN_FAILED' })
    expect(await e.embed([])).toEqual([])
  })
})
