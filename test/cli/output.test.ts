/**
 * What the CLI prints, end to end through the built CLI: text from YAML and models escaped in every
 * command, a reader closing the pipe early, --show-prompt, --debug, and plugins' log events.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { defaultReply, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { BIN, makeProject, runCli } from '../support/cli.js'
import { approvePlugin, pluginPackage } from '../support/plugin-api.js'

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

/** Runs a shell pipeline `mirador ARGS | head -n LINES`, the way a user would; mirador's stderr goes to a file. */
function pipeToHead(
  args: string[],
  lines: number,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ status: number; head: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    const child = spawn('bash', ['-c', `${quoted} 2>mirador.err | head -n ${lines}; echo "status=\${PIPESTATUS[0]}"`], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH, HOME: opts.cwd, NO_COLOR: '1', MIRADOR_MEMORY: 'off', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the pipeline did not end: ${out}`))
    }, 20_000)
    child.on('close', () => {
      clearTimeout(timer)
      const m = /status=(\d+)\n$/.exec(out)
      resolve({
        status: Number(m?.[1]),
        head: out.slice(0, m?.index),
        stderr: readFileSync(path.join(opts.cwd, 'mirador.err'), 'utf8'),
        ms: performance.now() - t0,
      })
    })
  })
}

describe('a reader that closes the pipe early (| head)', () => {
  it('chain run ends quietly: no stack trace, status 130, the model requests closed', async () => {
    // plain output is written a line at a time: the reply has lines, so there is something to write
    const reply = () => 'First point.\nSecond point.\nThird point.\n'
    const slow = await startOllamaTestServer({
      tokenDelayMs: 20,
      tokens: 1000,
      models: [
        { name: 'llama3.2:1b', reply },
        { name: 'qwen2.5:7b', reply },
      ],
    })
    try {
      const p = project()
      for (const mode of [[], ['--json']]) {
        const r = await pipeToHead(['chain', 'run', 'quick-deep', 'hello', ...mode], 4, {
          cwd: p.dir,
          env: p.env({ OLLAMA_HOST: slow.url }),
        })
        expect(r.head.split('\n').filter(Boolean)).toHaveLength(4)
        expect(r.stderr).toBe('')
        expect(r.status).toBe(130)
        expect(r.ms).toBeLessThan(10_000) // 1000 tokens would take 20 s
      }
      await new Promise((res) => setTimeout(res, 100))
      const chats = slow.requests.filter((q) => q.path === '/api/chat')
      // every request a run made was closed (a run stopped early may not have started both stages)
      expect(chats.length).toBeGreaterThanOrEqual(2)
      expect(chats.every((q) => q.closed)).toBe(true)
    } finally {
      await slow.close()
    }
  })

  it('a command printing a lot (chain ls) ends without a stack trace', async () => {
    const many: Record<string, string> = {}
    for (let i = 0; i < 60; i++)
      many[`chains/c${i}.yaml`] = `description: "${'x'.repeat(1990)}"\nstages:\n  a:\n    model: m\n    prompt: x\n`
    const p = project(many)
    for (const mode of [[], ['--json']]) {
      const r = await pipeToHead(['chain', 'ls', ...mode], 1, { cwd: p.dir, env: p.env() })
      expect(r.head.split('\n').filter(Boolean)).toHaveLength(1)
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    }
  })
})

describe('--show-prompt', () => {
  it('--json: a prompt event per stage (filled template, system prompt) before its stage starts', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'What now?', '--json', '--show-prompt'], {
      cwd: p.dir,
      env: p.env(),
    })
    expect(r.code).toBe(0)
    const prompts = r.events.filter((e) => e.type === 'prompt')
    expect(prompts.map(({ stage, text, system }) => ({ stage, text, system }))).toEqual(
      expect.arrayContaining([
        { stage: 'quick', text: 'Briefly: What now?', system: 'Be brief.' },
        { stage: 'deep', text: 'Deeply: What now?', system: undefined },
      ]),
    )
    const at = (type: string, stage: string) => r.events.findIndex((e) => e.type === type && e.stage === stage)
    expect(at('prompt', 'quick')).toBeLessThan(at('stage-start', 'quick'))
    const without = await runCli(['chain', 'run', 'quick-deep', 'What now?', '--json'], { cwd: p.dir, env: p.env() })
    expect(without.events.some((e) => e.type === 'prompt')).toBe(false)
  })

  it('plain output labels the prompt lines; --no-stream prints them on stderr; ask takes the flag too', async () => {
    const p = project()
    const plain = await runCli(['chain', 'run', 'quick-deep', 'Plan\x1b[2J my day', '--show-prompt'], {
      cwd: p.dir,
      env: p.env(),
    })
    expect(plain.stdout).toContain('[quick system] Be brief.\n[quick prompt] Briefly: Plan\\u001b[2J my day\n')
    expect(plain.stdout).toContain('[deep prompt] Deeply: Plan\\u001b[2J my day\n')
    const final = await runCli(['chain', 'run', 'quick-deep', 'Plan my day', '--show-prompt', '--no-stream'], {
      cwd: p.dir,
      env: p.env(),
    })
    expect(final.stdout).toBe(defaultReply('qwen2.5:7b', 'Deeply: Plan my day') + '\n')
    expect(final.stderr).toContain('[quick prompt] Briefly: Plan my day\n')
    const help = await runCli(['ask', '--help'], { cwd: p.dir, env: p.env() })
    expect(help.stdout).toContain('--show-prompt')
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
    'plugins/package.json': pluginPackage(),
    'mirador.config.yaml': 'plugins: [{ name: ./plugins/chatty.js, trusted: true }]\n',
  }

  it('plain: info on stdout, warnings on stderr, escaped; the unknown event only with --debug', async () => {
    const p = project(files)
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
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
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env() })
    expect(r.events.filter((e) => e.type === 'log' || e.type === 'chatty-stats')).toEqual([
      expect.objectContaining({ type: 'log', level: 'info', message: 'indexed 3 notes', plugin: 'Chatty' }),
      expect.objectContaining({ type: 'log', level: 'warn', message: 'quota \x1b[31mlow', stage: 'only' }),
      expect.objectContaining({ type: 'chatty-stats', notes: 3 }),
    ])
  })
})
