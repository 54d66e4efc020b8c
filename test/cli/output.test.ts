/**
 * What the CLI prints, end to end through the built CLI: text from YAML and models escaped in every
 * command, a reader closing the pipe early, --show-prompt, --debug, and plugins' log events.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
`
const QUICK_DEEP = `name: quick-deep
stages:
  quick:
    model: quick
    system: "Be brief."
    prompt: "Briefly: {{query}}"
  deep:
    model: deep
    prompt: "Deeply: {{query}}"
`
/** ESC ] (OSC: set the window title) … BEL, ESC [ (CSI: clear the screen), and a right-to-left override */
const EVIL_YAML = String.raw`\e]0;pwned\a\e[2J\u202Eevil`
const EVIL_SHOWN = String.raw`\u001b]0;pwned\u0007\u001b[2J\u202eevil`
// eslint-disable-next-line no-control-regex -- what must not reach a terminal
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer({ tokenDelayMs: 2 })
})
afterAll(async () => {
  await server.close()
})

function project(extra: Record<string, string> = {}) {
  const p = makeProject({ 'chains/quick-deep.yaml': QUICK_DEEP, 'models/manifest.yaml': MANIFEST, ...extra })
  return { ...p, env: (more: NodeJS.ProcessEnv = {}) => ({ MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, ...more }) }
}

describe('commands escape text from YAML files', () => {
  const evil = `name: evil
description: "Looks fine ${EVIL_YAML}"
stages:
  a:
    model: quick
    prompt: "{{query}}"
`
  const tool = `name: evil_tool
description: "A tool ${EVIL_YAML}"
parameters: { type: object, properties: {} }
source: evil_tool.mjs
`

  it('chain ls, chain show, tools ls: control characters and bidi overrides are shown escaped', async () => {
    const p = project({
      'chains/evil.yaml': evil,
      'tools/evil_tool.yaml': tool,
      'tools/evil_tool.mjs': 'export default () => 1\n',
    })
    for (const args of [
      ['chain', 'ls'],
      ['chain', 'show', 'evil'],
      ['tools', 'ls'],
    ]) {
      const r = await runCli(args, { cwd: p.dir, env: p.env() })
      expect(`${args.join(' ')}: ${r.stderr}`).toBe(`${args.join(' ')}: `)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(EVIL_SHOWN)
      expect(r.stdout).not.toMatch(RAW)
    }
  })

  it('chain validate: an error quoting the file is escaped too', async () => {
    const p = project({ 'chains/bad.yaml': `stages:\n  a:\n    model: m\n    prompt: x\n    "${EVIL_YAML}": 1\n` })
    const r = await runCli(['chain', 'validate', 'chains/bad.yaml'], { cwd: p.dir, env: p.env() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('\\u001b]0;pwned')
    expect(r.stderr + r.stdout).not.toMatch(RAW)
  })

  it('--json stays JSON: the description comes back exactly as written', async () => {
    const p = project({ 'chains/evil.yaml': evil })
    const r = await runCli(['chain', 'show', 'evil', '--json'], { cwd: p.dir, env: p.env() })
    expect(JSON.parse(r.stdout).description).toBe('Looks fine \x1b]0;pwned\x07\x1b[2J\u202eevil')
  })
})

describe('plugins: log events and events of their own', () => {
  const plugin = `export default {
  name: 'Chatty', apiVersion: 1,
  apply(engine) {
    engine.hooks.prompt.tap('Chatty', (prompt, ctx) => {
      ctx.emit({ type: 'log', level: 'info', message: 'indexed 3 notes', plugin: 'Chatty', stage: ctx.stage })
      ctx.emit({ type: 'log', level: 'warn', message: 'quota \\x1b[31mlow', plugin: 'Chatty', stage: ctx.stage })
      ctx.emit({ type: 'chatty-stats', stage: ctx.stage, notes: 3 })
      return prompt
    })
  },
}
`
  const files = {
    'chains/one.yaml': 'stages:\n  only:\n    model: quick\n    prompt: "{{query}}"\n',
    'plugins/chatty.js': plugin,
    'mirador.config.yaml': 'plugins: [./plugins/chatty.js]\n',
  }

  it('plain: info on stdout, warnings on stderr, escaped; the unknown event only with --debug', async () => {
    const p = project(files)
    const r = await runCli(['chain', 'run', 'one', 'hi'], { cwd: p.dir, env: p.env() })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('[log] Chatty [only]: indexed 3 notes\n')
    expect(r.stderr).toBe('[log] Chatty [only]: warning: quota \\u001b[31mlow\n')
    expect(r.stdout).not.toContain('chatty-stats')
    const debug = await runCli(['chain', 'run', 'one', 'hi', '--debug'], { cwd: p.dir, env: p.env() })
    expect(debug.stdout).toMatch(/^\[event\] chatty-stats \{"stage":"only","notes":3,"t":\d+\}$/m)
  })

  it('--json: as they were emitted', async () => {
    const p = project(files)
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env() })
    expect(r.events.filter((e) => e.type === 'log' || e.type === 'chatty-stats')).toEqual([
      expect.objectContaining({ type: 'log', level: 'info', message: 'indexed 3 notes', plugin: 'Chatty' }),
      expect.objectContaining({ type: 'log', level: 'warn', message: 'quota \x1b[31mlow', stage: 'only' }),
      expect.objectContaining({ type: 'chatty-stats', notes: 3 }),
    ])
  })
})
