/**
 * Updated facts end to end, with the bundled sentence encoder on the real Chroma server: `memory
 * search` ranks the memory that updates a fact right above the one it updates and says so, and
 * `memory show` shows both sides.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { makeProject, runCli } from '../support/cli.js'

const homes: string[] = []
afterAll(async () => {
  for (const h of homes) await stopChromaServer(h)
})

const DAY = 86_400_000
const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString()
const MEMORIES = [
  { ref: 'april', at: at(60), text: 'Our Lisbon trip is booked for 10 to 14 April, flying easyJet from Lyon.' },
  {
    ref: 'may',
    at: at(10),
    text: 'Change of plan: the Lisbon trip moved to 22 to 26 May, still flying easyJet from Lyon.',
  },
  { ref: 'kyoto', at: at(5), text: 'We booked a trip to Kyoto for October, flying Finnair from Lyon.' },
  { ref: 'dentist', at: at(40), text: 'Booked the dentist for Monday 3 March at 8:30.' },
  { ref: 'boiler', at: at(3), text: 'The boiler keeps losing pressure; top it up with the loop under the sink.' },
  // the rule compares at least ten memories (supersede.ts: MIN_COMPARED)
  ...[
    'Sofia works at CERN as a data engineer.',
    'Recycling goes out every other Tuesday.',
    'Rent for the flat is 1,150 a month, paid on the first.',
    'Pimenta the cat is a grey rescue who scratches the sofa.',
    "Zoé's new teacher is Monsieur Dubois.",
    'Léo has swimming lessons on Thursdays at 17:30.',
  ].map((text, i) => ({ ref: `other-${i}`, at: at(20 + i), text })),
]

describe('updated facts through the CLI', () => {
  it('search puts the update above what it updates; show names both sides', async () => {
    const p = makeProject({
      'mirador.config.yaml': 'builtins:\n  memory: { embed: { runtime: use } }\n',
      'mem.jsonl': MEMORIES.map((m) => JSON.stringify(m)).join('\n'),
    })
    homes.push(p.home)
    const env = { MIRADOR_HOME: p.home, MIRADOR_MEMORY: 'on' }
    const cli = (args: string[]) => runCli(args, { cwd: p.dir, env })
    expect((await cli(['memory', 'import', 'mem.jsonl', '--json'])).code).toBe(0)

    const found = JSON.parse((await cli(['memory', 'search', 'When is our Lisbon trip?', '--json'])).stdout) as {
      id: string
      ref: string
      supersededBy?: string
    }[]
    const id = (ref: string) => found.find((m) => m.ref === ref)!.id
    expect(found.slice(0, 2).map((m) => m.ref)).toEqual(['may', 'april'])
    expect(found[1]!.supersededBy).toBe(id('may'))
    expect(found.filter((m) => m.supersededBy !== undefined)).toHaveLength(1)
    const text = (await cli(['memory', 'search', 'When is our Lisbon trip?'])).stdout
    expect(text).toContain(`superseded by ${id('may')}`)

    const old = await cli(['memory', 'show', id('april')])
    expect(old.stdout).toMatch(new RegExp(`^superseded by ${id('may')} \\(made .*\\)  Change of plan`, 'm'))
    expect(old.stdout).not.toMatch(/^supersedes /m)
    const newer = JSON.parse((await cli(['memory', 'show', id('may'), '--json'])).stdout)
    expect(newer).toMatchObject({ id: id('may'), supersedes: [id('april')], supersededBy: [] })
    // a memory nothing updates, and that updates nothing
    expect(JSON.parse((await cli(['memory', 'show', id('kyoto'), '--json'])).stdout)).toMatchObject({
      supersedes: [],
      supersededBy: [],
    })
  })
})
