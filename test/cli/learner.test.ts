import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

const PLANNER = `# The planner: answers planning questions.
name: planner
description: Plans things.
triggers: [plan]
weights:
  planning: 0.5   # learned from your ratings
stages:
  answer: { model: "llama3.2:1b", prompt: "Plan: {{query}}" }
`
const WRITER = `name: writer
weights: { planning: 0.5 }
stages:
  answer: { model: "qwen2.5:7b", prompt: "Write: {{query}}" }
`

function project(memory = 'off') {
  const p = makeProject({
    'chains/planner.yaml': PLANNER,
    'chains/writer.yaml': WRITER,
    'mirador.config.yaml':
      'builtins:\n  learner: { rules: { planning: [plan, schedule, week] } }\n  memory: { k: 1 }\n',
  })
  homes.push(p.home)
  // the learner records runs only when memory is on; memory needs no server for that
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: memory } }
}

describe('the learner through the CLI', () => {
  it('ask routes a query to a chain, rate moves its weight in the chain file, report, diff and rollback', async () => {
    const p = project('on')
    const ask = await runCli(['ask', 'Help me plan my week', '--json', '--explain'], { cwd: p.dir, env: p.env })
    expect(ask.code).toBe(0)
    const route = ask.events.find((e) => e.type === 'route')!
    expect(route).toMatchObject({ queryType: 'planning', via: 'rule', explain: true })
    expect(['planner', 'writer']).toContain(route.chain)
    expect(route.candidates.map((c: { chain: string }) => c.chain).sort()).toEqual(['planner', 'writer'])
    const file = path.join(p.dir, 'chains', `${route.chain}.yaml`)
    const before = readFileSync(file, 'utf8')

    const rate = await runCli(['rate', '--last', '5', '--json'], { cwd: p.dir, env: p.env })
    expect(rate.code).toBe(0)
    const rated = JSON.parse(rate.stdout)
    expect(rated).toMatchObject({ chain: route.chain, type: 'planning', rating: 5, before: 0.5 })
    expect(rated.after).toBeGreaterThan(0.5)
    const after = readFileSync(file, 'utf8')
    expect(after).not.toBe(before)
    expect(after).toContain(`planning: ${rated.after}`)
    if (route.chain === 'planner') expect(after).toContain('# The planner: answers planning questions.')
    // everything but the weight is as it was
    expect(after.replace(String(rated.after), '0.5')).toBe(before)

    const report = JSON.parse((await runCli(['learn', 'report', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(
      report
        .find((r: { type: string }) => r.type === 'planning')
        .chains.find((c: { chain: string }) => c.chain === route.chain),
    ).toMatchObject({ ratings: 1 })
    const diff = await runCli(['learn', 'diff', route.chain], { cwd: p.dir, env: p.env })
    expect(diff.stdout).toMatch(/-.*planning: 0\.5/)
    const rollback = await runCli(['learn', 'rollback', route.chain], { cwd: p.dir, env: p.env })
    expect(rollback.stdout).toMatch(/is back as it was/)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })

  it('ratings need a recorded run: with memory off nothing is recorded', async () => {
    const p = project('off')
    await runCli(['ask', 'plan my week', '--no-stream'], { cwd: p.dir, env: p.env })
    const rate = await runCli(['rate', '--last', '4'], { cwd: p.dir, env: p.env })
    expect(rate.code).toBe(2)
    expect(rate.stderr).toMatch(/no recorded run/)
  })

  it('a bad rating is refused', async () => {
    const p = project('on')
    const r = await runCli(['rate', 'r_nothing', '9'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/from 1 to 5/)
  })

  it('chain run auto is ask; help has examples', async () => {
    const p = project('off')
    const r = await runCli(['chain', 'run', 'auto', 'write me a poem', '--json'], { cwd: p.dir, env: p.env })
    expect(r.events.find((e) => e.type === 'route')).toMatchObject({ queryType: 'general' })
    for (const cmd of [['ask'], ['rate'], ['learn', 'report'], ['learn', 'diff'], ['learn', 'rollback']]) {
      expect((await runCli([...cmd, '--help'], { cwd: p.dir, env: p.env })).stdout).toMatch(/EXAMPLES/)
    }
  })
})
