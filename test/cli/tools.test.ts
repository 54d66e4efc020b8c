import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

const CHAIN =
  'stages:\n  answer:\n    model: "llama3.2:1b"\n    prompt: "{{query}}"\n    tools: [calculate, search_docs]\n'

function project(extra: Record<string, string> = {}) {
  const p = makeProject({ 'chains/calc.yaml': CHAIN, ...extra })
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } }
}

const chats = () => server.requests.filter((r) => r.path === '/api/chat' && r.body?.messages?.length)

describe('tools through the CLI', () => {
  it('a model calls calculate via Ollama tool calling; the sandbox answers; the model gets the result', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'calc', 'CALL calculate {"expression":"2^10 / 4"}', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(r.code).toBe(0)
    const call = r.events.find((e) => e.type === 'tool-call')
    const result = r.events.find((e) => e.type === 'tool-result')
    expect(call).toMatchObject({ stage: 'answer', name: 'calculate', arguments: { expression: '2^10 / 4' } })
    expect(result).toMatchObject({
      name: 'calculate',
      ok: true,
      value: { expression: '2^10 / 4', result: 256 },
      ms: expect.any(Number),
    })
    const [first, second] = chats().slice(-2)
    expect(first!.body.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual([
      'calculate',
      'search_docs',
    ])
    expect(second!.body.messages.at(-1)).toMatchObject({
      role: 'tool',
      tool_name: 'calculate',
      content: '{"expression":"2^10 / 4","result":256}',
    })
    expect(r.events.at(-1)).toMatchObject({
      type: 'done',
      ok: true,
      answer: expect.stringContaining('The tool calculate said'),
    })
  })

  it('bad arguments and tool errors go back to the model as errors, and the run continues', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'calc', 'CALL calculate {"expr":"1+1"}', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(r.code).toBe(0)
    expect(r.events.find((e) => e.type === 'tool-result')).toMatchObject({
      ok: false,
      code: 'TOOL_INVALID',
      error: expect.stringContaining("must have required property 'expression'"),
    })
    const r2 = await runCli(['chain', 'run', 'calc', 'CALL calculate {"expression":"1/0"}', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(r2.events.find((e) => e.type === 'tool-result')).toMatchObject({
      ok: false,
      code: 'TOOL_FAILED',
      error: expect.stringContaining('division by zero'),
    })
    expect(chats().at(-1)!.body.messages.at(-1).content).toContain('division by zero')
  })

  it('search_docs and search_memory say memory is off when it is', async () => {
    const p = project({ 'chains/recall.yaml': CHAIN.replace('search_docs', 'search_memory') })
    const off = { ...p.env, MIRADOR_MEMORY: 'off' }
    const r = await runCli(['chain', 'run', 'calc', 'CALL search_docs {"query":"birthday"}', '--json'], {
      cwd: p.dir,
      env: off,
    })
    expect(r.events.find((e) => e.type === 'tool-result')).toMatchObject({
      ok: true,
      value: { query: 'birthday', results: [], note: 'memory is off: documents cannot be searched' },
    })
    const m = await runCli(['chain', 'run', 'recall', 'CALL search_memory {"query":"birthday"}', '--json'], {
      cwd: p.dir,
      env: off,
    })
    expect(m.events.find((e) => e.type === 'tool-result')).toMatchObject({
      ok: true,
      value: { query: 'birthday', results: [], note: 'memory is off: nothing can be recalled' },
    })
  })

  it('tools ls, run and validate', async () => {
    const p = project({
      'tools/shout.yaml':
        'name: shout\ndescription: Upper-cases text.\n' +
        'parameters: { type: object, properties: { text: { type: string } }, required: [text] }\n' +
        'source: shout.mjs\nlimits: { timeout_ms: 60000 }\n',
      'tools/shout.mjs': 'export default ({ text }) => ({ loud: text.toUpperCase() + "\\u001b[2J" })\n',
      'tools/escape.yaml':
        'name: escape\ndescription: Tries to leave its folder.\nparameters: { type: object }\nsource: ../outside.mjs\n',
    })
    const ls = JSON.parse((await runCli(['tools', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)
    // clamped to the policy
    expect(ls.find((t: { name: string }) => t.name === 'shout')).toMatchObject({ limits: { timeoutMs: 10000 } })
    expect(ls.find((t: { name: string }) => t.name === 'calculate')).toBeDefined()
    const run = await runCli(['tools', 'run', 'shout', '--args', '{"text":"hi"}'], { cwd: p.dir, env: p.env })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('"loud": "HI\\u001b[2J"')
    expect(run.stdout).not.toContain('\x1b')
    const bad = await runCli(['tools', 'run', 'shout', '--args', '{}'], { cwd: p.dir, env: p.env })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/TOOL_INVALID/)
    const v = await runCli(['tools', 'validate'], { cwd: p.dir, env: p.env })
    expect(v.code).toBe(1)
    expect(v.stderr).toMatch(
      /escape\.yaml:4:9: source: \.\.\/outside\.mjs is outside the tool's folder|escape\.yaml:4:\d+: .*source/,
    )
    // chain validate knows tools/ for the tools plugin's folder, and asks the plugin to check what the
    // schema cannot see (here: a source file that is not there)
    writeFileSync(
      path.join(p.dir, 'tools/ghost.yaml'),
      'name: ghost\ndescription: Its file is missing.\nparameters: { type: object }\nsource: ghost.mjs\n',
    )
    const cv = await runCli(['chain', 'validate', 'tools/ghost.yaml', 'tools/shout.yaml', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(cv.code).toBe(1)
    const files = JSON.parse(cv.stdout).files as { file: string; kind: string; ok: boolean; errors: unknown[] }[]
    expect(files.map((f) => [f.file, f.kind, f.ok])).toEqual([
      ['tools/ghost.yaml', 'tool', false],
      ['tools/shout.yaml', 'tool', true],
    ])
    expect(JSON.stringify(files[0]!.errors)).toMatch(/ghost\.mjs does not exist/)
  })
})
