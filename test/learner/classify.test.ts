import { describe, expect, it } from '@jest/globals'
import { classify, typeNameOf, unmatchableKeywords, DEFAULT_TYPE } from '../../src/plugins/learner/classify.js'
import { createHashingEmbedder, type Embedder } from '../../src/lib/embedder.js'

const chains = [
  { name: 'quick-deep' },
  { name: 'planner', triggers: ['plan', 'focus'] },
  { name: 'coder', triggers: ['code review', 'typescript'] },
]
const rules = { planning: ['schedule', 'next week', 'agenda'], cooking: ['recipe', 'cook'], travel: ['trip', 'flight'] }

describe('classify', () => {
  it('keyword rules first: whole words, any case, stemmed, stop words ignored', async () => {
    const c = await classify('What is on my SCHEDULED agenda?', { chains, rules })
    expect(c).toEqual({
      type: 'planning',
      via: 'rule',
      detail: 'keywords "schedule", "agenda" of rule "planning"',
      triggered: [],
    })
    expect((await classify('something for the next weeks', { chains, rules })).type).toBe('planning')
    expect((await classify('cooking leeks', { chains, rules })).type).toBe('cooking')
    // a word boundary: "cookie" is not "cook", "trips" is "trip"
    expect((await classify('cookies', { chains, rules })).via).toBe('default')
    expect((await classify('Trips to Lyon', { chains, rules })).type).toBe('travel')
    // stop words inside a phrase are ignored on both sides
    expect((await classify('the next, the week!', { chains, rules: { planning: ['next of week'] } })).type).toBe(
      'planning',
    )
    expect((await classify('week next', { chains, rules })).via).toBe('default') // a phrase keeps its order
  })

  it('the rule with the most matched words wins; ties go to the rule written first', async () => {
    expect((await classify('a recipe for the trip', { chains, rules })).type).toBe('cooking')
    expect((await classify('cook during the flight trip', { chains, rules })).type).toBe('travel')
  })

  it('chain triggers next: the type is the triggered chain, and triggered chains are listed either way', async () => {
    const c = await classify('Planning my focus time', { chains, rules })
    expect(c).toEqual({
      type: 'planner',
      via: 'trigger',
      detail: 'triggers "plan", "focus" of chain planner',
      triggered: ['planner'],
    })
    const both = await classify('plan a code review in typescript', { chains, rules })
    expect(both.type).toBe('coder') // 3 words against 1
    expect(both.triggered).toEqual(['coder', 'planner'])
    const ruled = await classify('plan the agenda', { chains, rules })
    expect(ruled).toMatchObject({ type: 'planning', via: 'rule', triggered: ['planner'] })
    expect((await classify('planet earth', { chains, rules })).via).toBe('default')
  })

  it('then the nearest centroid of rated queries, above a similarity threshold', async () => {
    const rated = [
      { query: 'fix my python script that throws KeyError', type: 'coding' },
      { query: 'python traceback in my script', type: 'coding' },
      { query: 'write a poem about the sea', type: 'writing' },
      { query: 'a short poem for a birthday card', type: 'writing' },
      { query: 'the only gardening question', type: 'garden' }, // one query: no centroid (minRated 2)
    ]
    const c = await classify('my python script crashes', { chains, rated })
    expect(c.type).toBe('coding')
    expect(c.via).toBe('centroid')
    expect(c.detail).toMatch(/^closest to the 2 rated "coding" queries \(similarity 0\.\d\d ≥ 0\.2\)$/)
    expect((await classify('a poem about autumn', { chains, rated })).type).toBe('writing')
    expect((await classify('the only gardening question', { chains, rated })).via).toBe('default')
    expect((await classify('the only gardening question', { chains, rated, minRated: 1 })).type).toBe('garden')
    expect((await classify('who won the world cup in 1998', { chains, rated })).via).toBe('default')
    expect((await classify('my python script crashes', { chains, rated, minSimilarity: 0.99 })).via).toBe('default')
    expect((await classify('my python script crashes', { chains, rated, embedder: false })).via).toBe('default')
    // rules and triggers come before centroids
    expect((await classify('python script schedule', { chains, rules, rated })).via).toBe('rule')
  })

  it('uses the embedder it is given, embedding each text once per process', async () => {
    const seen: string[] = []
    const axis = (t: string) =>
      t.includes('red') ? [1, 0] : t.includes('blue') ? [0, 1] : [Math.SQRT1_2, Math.SQRT1_2]
    const embedder: Embedder = {
      id: 'test/colours',
      dims: 2,
      embed: async (texts) => {
        seen.push(...texts)
        return texts.map(axis)
      },
    }
    const rated = [
      { query: 'red one', type: 'reds' },
      { query: 'red two', type: 'reds' },
      { query: 'blue one', type: 'blues' },
      { query: 'blue two', type: 'blues' },
    ]
    expect(await classify('dark red', { chains, rated, embedder, minSimilarity: 0.9 })).toMatchObject({
      type: 'reds',
      via: 'centroid',
    })
    expect(await classify('navy blue', { chains, rated, embedder, minSimilarity: 0.9 })).toMatchObject({
      type: 'blues',
      via: 'centroid',
    })
    expect(await classify('grey', { chains, rated, embedder, minSimilarity: 0.9 })).toMatchObject({
      type: DEFAULT_TYPE,
      via: 'default',
    })
    expect(seen.filter((t) => t === 'red one')).toHaveLength(1)
  })

  it('uses the kept embeddings of rated queries made by the same embedder, and only those', async () => {
    const axis = (t: string) => (t.includes('red') ? [1, 0] : t.includes('blue') ? [0, 1] : [0.6, 0.8])
    const embedded: string[] = []
    const embedder: Embedder = {
      id: 'test/kept',
      dims: 2,
      embed: async (texts) => {
        embedded.push(...texts)
        return texts.map(axis)
      },
    }
    const kept = (values: number[], id = 'test/kept') => ({ embedder: id, values })
    const rated = [
      { type: 'reds', vector: kept([1, 0]) },
      { type: 'reds', vector: kept([0.99, 0.14]) },
      // another embedder's vectors: another space, never compared
      { type: 'blues', vector: kept([1, 0], 'other/model') },
      { type: 'blues', vector: kept([1, 0], 'other/model') },
    ]
    expect(await classify('dark red', { chains, rated, embedder, minSimilarity: 0.9 })).toMatchObject({
      type: 'reds',
      via: 'centroid',
    })
    expect(embedded).toEqual(['dark red']) // the rated queries' text is not there to embed
    expect((await classify('navy blue', { chains, rated, embedder, minSimilarity: 0.9 })).via).toBe('default')
    // a model embedder's default threshold is higher than the hashing embedder's
    const c = await classify('something reddish', { chains, rated, embedder })
    expect(c).toMatchObject({ type: 'reds', via: 'centroid' })
    expect(c.detail).toMatch(/≥ 0\.35\)$/)
  })

  it('asks for the rated queries and the embedder only when it reaches the centroid step', async () => {
    const asked: string[] = []
    const rated = async () => {
      asked.push('rated')
      return [
        { type: 'coding', query: 'python script bug' },
        { type: 'writing', query: 'a poem' },
      ]
    }
    const embedder = async () => {
      asked.push('embedder')
      return createHashingEmbedder()
    }
    expect((await classify('plan the agenda', { chains, rules, rated, embedder })).via).toBe('rule')
    expect(asked).toEqual([])
    // one rated query per type: no centroid can form, so no embedder is needed
    expect((await classify('python bug', { chains, rated, embedder })).via).toBe('default')
    expect(asked).toEqual(['rated'])
  })

  it('an embedder that fails costs the centroid step, not the classification', async () => {
    const embedder: Embedder = {
      id: 'test/broken',
      dims: 2,
      embed: async () => {
        throw new Error('the memory service went away')
      },
    }
    const rated = [
      { type: 'reds', query: 'red one' },
      { type: 'reds', query: 'red two' },
    ]
    expect(await classify('dark red', { chains, rated, embedder })).toMatchObject({
      type: 'general',
      via: 'default',
      detail: expect.stringMatching(/could not be compared \(the memory service went away\)/),
    })
  })

  it('looks at the opening of a huge query only', async () => {
    const huge = 'plan ' + 'x '.repeat(3_000_000)
    expect((await classify(huge, { chains, rules })).type).toBe('planner')
    expect((await classify('x '.repeat(3_000_000) + ' agenda', { chains, rules })).via).toBe('default')
  })

  it('defaults to general', async () => {
    expect(await classify('', { chains, rules })).toEqual({
      type: 'general',
      via: 'default',
      detail: 'no rule, trigger or similar rated query matched',
      triggered: [],
    })
    expect((await classify('tell me a joke', { chains: [] })).type).toBe('general')
  })

  it('names keywords that can never match, and makes chain names valid type names', () => {
    expect(unmatchableKeywords({ planning: ['how', 'plan', 'what is'], x: ['a'] })).toEqual([
      { name: 'planning', keyword: 'how' },
      { name: 'planning', keyword: 'what is' },
      { name: 'x', keyword: 'a' },
    ])
    expect(typeNameOf('quick-deep')).toBe('quick-deep')
    expect(typeNameOf('my chain!')).toBe('my-chain-')
    expect(typeNameOf('_x')).toBe('x')
    expect(typeNameOf('x'.repeat(80))).toHaveLength(64)
  })
})
