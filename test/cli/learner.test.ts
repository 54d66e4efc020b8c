import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PACKAGE_ROOT } from '../../src/engine/package-root.js'
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

  it('a run rated again replaces its rating; rollback takes it out of the report; --last takes 1 rating', async () => {
    const p = project('on')
    await runCli(['chain', 'run', 'planner', 'plan my week', '--no-stream'], { cwd: p.dir, env: p.env })
    const rate = async (...args: string[]) => runCli(['rate', ...args, '--json'], { cwd: p.dir, env: p.env })
    const first = JSON.parse((await rate('--last', '2')).stdout)
    expect(first).toMatchObject({ chain: 'planner', type: 'planning', before: 0.5, after: 0.3333 })
    const second = JSON.parse((await rate('--last', '5')).stdout)
    // w = (0.3333·3 − 0 + 1) / 3: the 2 is replaced, not joined, by the 5
    expect(second).toMatchObject({ replaced: 2, before: 0.3333, after: 0.6666 })
    const ratingsOf = async () => {
      const report = JSON.parse((await runCli(['learn', 'report', '--json'], { cwd: p.dir, env: p.env })).stdout)
      return report
        .find((r: { type: string }) => r.type === 'planning')
        .chains.find((c: { chain: string }) => c.chain === 'planner')
    }
    expect(await ratingsOf()).toMatchObject({ ratings: 1, weight: 0.6666 })

    // rollback: the file and the report agree that the 5 no longer counts, and the 2 counts again
    const back = JSON.parse(
      (await runCli(['learn', 'rollback', 'planner', '--json'], { cwd: p.dir, env: p.env })).stdout,
    )
    expect(back).toMatchObject({ rolledBack: true, undid: { runId: second.runId } })
    expect(await ratingsOf()).toMatchObject({ ratings: 1, weight: 0.3333 })
    await runCli(['learn', 'rollback', 'planner'], { cwd: p.dir, env: p.env })
    expect(await ratingsOf()).toMatchObject({ ratings: 0, weight: 0.5 })

    // --last rates the last run: a second number is refused, not ignored
    const extra = await runCli(['rate', '--last', '1', '5'], { cwd: p.dir, env: p.env })
    expect(extra.code).toBe(2)
    expect(extra.stderr).toMatch(/USAGE: --last rates the most recent run: give only the rating/)
    expect(await ratingsOf()).toMatchObject({ ratings: 0 })
  })

  it("a shipped chain's weights go to the user's copy in $MIRADOR_HOME/chains, comments kept", async () => {
    const p = makeProject({})
    homes.push(p.home)
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
    const shippedFile = path.join(PACKAGE_ROOT, 'chains', 'single.yaml')
    const shipped = readFileSync(shippedFile, 'utf8')
    await runCli(['chain', 'run', 'single', 'hello there', '--no-stream'], { cwd: p.dir, env })
    const r = await runCli(['rate', '--last', '5'], { cwd: p.dir, env })
    const copy = path.join(p.home, 'chains', 'single.yaml')
    expect(r.stdout).toContain(`in ${copy} (your copy of the shipped chain)`)
    expect(readFileSync(shippedFile, 'utf8')).toBe(shipped)
    const text = readFileSync(copy, 'utf8')
    const schema = path.join(PACKAGE_ROOT, 'schemas', 'chain.schema.json')
    expect(text).toBe(shipped.replace('../schemas/chain.schema.json', schema) + 'weights:\n  general: 0.6667\n')
    // the copy is the chain from now on: the next run is recorded from it, and rated into it
    const next = await runCli(['chain', 'run', 'single', 'hello again', '--json'], { cwd: p.dir, env })
    expect(next.code).toBe(0)
    const again = JSON.parse((await runCli(['rate', '--last', '5', '--json'], { cwd: p.dir, env })).stdout)
    expect(again).toMatchObject({ file: copy, before: 0.6667, after: 0.75 })
    expect(again.copied).toBeUndefined()
    expect((await runCli(['learn', 'diff', 'single'], { cwd: p.dir, env })).stdout).toMatch(/-\s+general: 0\.6667/)
  })

  it('ask picks only chains that can run here, and never one that says route: false', async () => {
    const p = makeProject({
      'chains/planner.yaml': PLANNER,
      'chains/writer.yaml': WRITER,
      'chains/manual.yaml':
        'name: manual\nroute: false\ntriggers: [plan]\nweights: { planning: 1, general: 1 }\n' +
        'stages:\n  a: { model: "llama3.2:1b", prompt: "{{query}}" }\n',
      'chains/ghost.yaml':
        'name: ghost\nweights: { general: 1 }\nstages:\n  a: { model: ghost, prompt: "{{query}}" }\n',
      'chains/tiny.yaml': 'name: tiny\nweights: { general: 1 }\nstages:\n  a: { model: tiny, prompt: "{{query}}" }\n',
      // the project's manifest replaces the shipped one: the shipped chains' models are named here too
      'models/manifest.yaml':
        'models:\n' +
        '  quick: { runtime: ollama, base: "llama3.2:1b" }\n' +
        '  deep: { runtime: ollama, base: "qwen2.5:7b" }\n' +
        '  local: { runtime: llamacpp, base: "${MIRADOR_GGUF}" }\n' +
        '  ghost: { runtime: llamacpp, base: ./nowhere.gguf }\n' +
        '  tiny: { runtime: llamacpp, base: "${TINY_GGUF}" }\n',
    })
    homes.push(p.home)
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url }
    const picked = new Set<string>()
    for (const q of ['plan my week', 'write a poem', 'hello', 'plan a trip', 'what time is it']) {
      const r = await runCli(['ask', q, '--json', '--explain'], { cwd: p.dir, env })
      expect(r.code).toBe(0)
      const route = r.events.find((e) => e.type === 'route')!
      picked.add(route.chain as string)
      const skipped = Object.fromEntries(
        (route.skipped as { chain: string; reason: string }[]).map((s) => [s.chain, s.reason]),
      )
      expect(skipped.manual).toBe('route: false')
      expect(skipped.ghost).toMatch(/the GGUF file .*nowhere\.gguf does not exist/)
      expect(skipped.tiny).toMatch(/TINY_GGUF is not set/)
      expect(skipped['local-story']).toMatch(/MIRADOR_GGUF is not set/)
      const names = (route.candidates as { chain: string }[]).map((c) => c.chain)
      for (const n of ['manual', 'ghost', 'tiny', 'local-story']) expect(names).not.toContain(n)
    }
    for (const c of ['manual', 'ghost', 'tiny']) expect(picked).not.toContain(c)
    // the terminal shows why, with --explain
    const plain = await runCli(['ask', 'hello', '--explain'], { cwd: p.dir, env })
    expect(plain.stdout + plain.stderr).toMatch(/ghost +not a candidate: model "ghost": the GGUF file/)
    // a file there (and the variable set) makes them candidates; `route: false` still never is
    const gguf = path.join(p.dir, 'models', 'nowhere.gguf')
    writeFileSync(gguf, '')
    const set = await runCli(['ask', 'hello', '--json'], { cwd: p.dir, env: { ...env, TINY_GGUF: gguf } })
    const route = set.events.find((e) => e.type === 'route')!
    expect((route.candidates as { chain: string }[]).map((c) => c.chain).sort()).toEqual(['ghost', 'tiny'])
    expect(route.skipped).toEqual(expect.arrayContaining([{ chain: 'manual', reason: 'route: false' }]))
    // named, a `route: false` chain runs
    expect((await runCli(['chain', 'run', 'manual', 'plan it', '--json'], { cwd: p.dir, env })).code).toBe(0)
  })

  it('says what to do when no chain can run here', async () => {
    const local = '{ runtime: llamacpp, base: "${TINY_GGUF}" }'
    const p = makeProject({
      'chains/tiny.yaml': 'name: tiny\nstages:\n  a: { model: quick, prompt: "{{query}}" }\n',
      'models/manifest.yaml': `models:\n  quick: ${local}\n  deep: ${local}\n  local: ${local}\n`,
    })
    homes.push(p.home)
    // the shipped chains' models too are on a GGUF file whose variable is unset
    const r = await runCli(['ask', 'hello'], { cwd: p.dir, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(
      /^✗ MODEL_UNRESOLVED: no chain can be picked for this question \(tiny, .*: environment variable TINY_GGUF/m,
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
