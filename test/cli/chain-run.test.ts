import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cpSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { LooseEvent as RunEvent } from '../support/events.js'
import { defaultReply, startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, ROOT, runCli } from '../support/cli.js'
import { approvePlugin, installPluginApi, pluginPackage } from '../support/plugin-api.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
`
const QUICK_DEEP = `name: quick-deep
answer: [deep, quick]
stages:
  quick:
    model: quick
    prompt: "Briefly: {{query}}"
    confidence: 0.6
  deep:
    model: deep
    prompt: "Deeply: {{query}}"
    confidence: 0.8
`

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer({ tokenDelayMs: 5 })
})
afterAll(async () => {
  await server.close()
})

function project(extra: Record<string, string> = {}) {
  return makeProject({ 'chains/quick-deep.yaml': QUICK_DEEP, 'models/manifest.yaml': MANIFEST, ...extra })
}

function env(p: { home: string }, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, ...more }
}

const of = <T extends RunEvent['type']>(events: RunEvent[], type: T) => events.filter((e) => e.type === type)

describe('mirador chain run', () => {
  it('--json streams ack, plan, both stages concurrently, and done, event by event', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'What should I focus on this week?', '--json'], {
      cwd: p.dir,
      env: env(p),
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const ev = r.events
    expect(ev.length).toBe(r.stdout.trim().split('\n').length) // every line is one JSON event
    expect(ev[0]).toMatchObject({ type: 'ack', chain: 'quick-deep' })
    // the energy profile shapes the plan, so its event comes first
    expect(ev[1]).toMatchObject({ type: 'profile' })
    expect(ev[2]).toMatchObject({
      type: 'plan',
      stages: [
        { stage: 'quick', model: 'quick', after: [] },
        { stage: 'deep', model: 'deep', after: [] },
      ],
    })
    expect(ev.at(-1)!.type).toBe('done')
    const runId = ev[0]!.runId
    expect(runId).toMatch(/^r_/)
    for (const e of ev) {
      expect(e.runId).toBe(runId)
      expect(typeof e.t).toBe('number')
    }
    expect(of(ev, 'stage-start').map((e) => [e.stage, e.model])).toEqual(
      expect.arrayContaining([
        ['quick', 'llama3.2:1b'],
        ['deep', 'qwen2.5:7b'],
      ]),
    )
    // the tokens of each stage are exactly the model's reply to the filled-in template
    const text = (stage: string) =>
      of(ev, 'token')
        .filter((e) => e.stage === stage)
        .map((e) => e.text)
        .join('')
    expect(text('quick')).toBe(defaultReply('llama3.2:1b', 'Briefly: What should I focus on this week?'))
    expect(text('deep')).toBe(defaultReply('qwen2.5:7b', 'Deeply: What should I focus on this week?'))
    // concurrency: deep's first token comes before quick's last, and vice versa
    const idx = (pred: (e: RunEvent) => boolean) => ev.findIndex(pred)
    const lastIdx = (pred: (e: RunEvent) => boolean) => ev.length - 1 - [...ev].reverse().findIndex(pred)
    const isTok = (s: string) => (e: RunEvent) => e.type === 'token' && e.stage === s
    expect(idx(isTok('deep'))).toBeLessThan(lastIdx(isTok('quick')))
    expect(idx(isTok('quick'))).toBeLessThan(lastIdx(isTok('deep')))
    // confidence from Ollama logprobs
    for (const e of of(ev, 'token')) expect(e.confidence).toBeGreaterThan(0)
    for (const e of of(ev, 'stage-end')) expect(e.confidenceSource).toBe('logprobs')
    const done = ev.at(-1) as Extract<RunEvent, { type: 'done' }> & { answer: string; stage: string; ok: boolean }
    expect(done).toMatchObject({ ok: true, stage: 'deep', answer: text('deep') })
    // the server saw the logprobs request and the options
    const chats = server.requests.filter(
      (q) => q.path === '/api/chat' && q.body?.messages?.at(-1)?.content?.includes('What should I focus'),
    )
    expect(chats.length).toBeGreaterThanOrEqual(2)
    expect(chats.every((q) => q.body.logprobs === true && q.body.stream === true)).toBe(true)
  })

  it('prints labelled plain lines and a summary when stdout is not a terminal', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'Plan my day'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^▸ quick-deep \(r_/)
    expect(r.stdout).toContain('[quick] started on llama3.2:1b')
    expect(r.stdout).toContain(`[deep] ${defaultReply('qwen2.5:7b', 'Deeply: Plan my day')}`)
    expect(r.stdout).toMatch(/\[quick\] done · \d+ tokens · confidence 0\.\d\d \(logprobs\)/)
    expect(r.stdout).toMatch(
      /✓ answer from deep \(confidence 0\.\d\d\) · models llama3\.2:1b, qwen2\.5:7b · \d+ tokens · \d+/,
    )
    expect(r.stdout).not.toContain('\x1b[') // no escape codes in a pipe
  })

  it('--no-stream prints only the final answer', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'Plan my day', '--no-stream'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(defaultReply('qwen2.5:7b', 'Deeply: Plan my day') + '\n')
  })

  it('delivers every event of a long, fast stream through a pipe before exiting', async () => {
    const s = await startOllamaTestServer({ tokens: 5000 })
    try {
      const p = project()
      const r = await runCli(['chain', 'run', 'quick-deep', 'long', '--json'], {
        cwd: p.dir,
        env: env(p, { OLLAMA_HOST: s.url }),
      })
      expect(r.code).toBe(0)
      expect(r.stdout.trim().split('\n')).toHaveLength(r.events.length)
      expect(of(r.events, 'token')).toHaveLength(10000)
      expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, tokens: 10000 })
    } finally {
      await s.close()
    }
  })

  it('Ctrl-C (SIGINT) stops the run promptly, reports ABORTED and exits 130', async () => {
    const s = await startOllamaTestServer({ tokenDelayMs: 50, tokens: 400 })
    try {
      const p = project()
      const r = await runCli(['chain', 'run', 'quick-deep', 'hi', '--json'], {
        cwd: p.dir,
        env: env(p, { OLLAMA_HOST: s.url }),
        signalWhen: { stdout: /"type":"token"/, signal: 'SIGINT' },
      })
      expect(r.code).toBe(130)
      expect(r.ms).toBeLessThan(5000) // 400 tokens would take 20 s
      expect(of(r.events, 'error').map((e) => e.code)).toEqual(['ABORTED', 'ABORTED'])
      expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: false })
      await new Promise((res) => setTimeout(res, 100))
      expect(s.requests.filter((q) => q.path === '/api/chat').every((q) => q.closed)).toBe(true)
    } finally {
      await s.close()
    }
  })

  it('reads the query from standard input', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', '--no-stream'], {
      cwd: p.dir,
      env: env(p),
      input: 'Piped question\n',
    })
    expect(r.stdout).toBe(defaultReply('qwen2.5:7b', 'Deeply: Piped question') + '\n')
  })

  it('an unreachable Ollama gives RUNTIME_UNREACHABLE naming the host, exit 1, and no hang', async () => {
    const p = project()
    const host = `http://127.0.0.1:${await unusedPort()}`
    const r = await runCli(['chain', 'run', 'quick-deep', 'hi', '--json'], {
      cwd: p.dir,
      env: env(p, { OLLAMA_HOST: host }),
    })
    expect(r.code).toBe(1)
    const errors = of(r.events, 'error')
    expect(errors.map((e) => e.stage).sort()).toEqual(['deep', 'quick'])
    for (const e of errors) {
      expect(e.code).toBe('RUNTIME_UNREACHABLE')
      expect(e.message).toContain(host.replace('http://', ''))
      expect(e.message).toMatch(/ollama serve/)
    }
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: false })
  })

  it('a failed deep stage keeps the quick answer (missing model under --offline)', async () => {
    const s = await startOllamaTestServer({ models: [{ name: 'llama3.2:1b' }, { name: 'qwen2.5:7b', present: false }] })
    try {
      const p = project()
      const r = await runCli(['chain', 'run', 'quick-deep', 'hi', '--json', '--offline'], {
        cwd: p.dir,
        env: env(p, { OLLAMA_HOST: s.url }),
      })
      expect(r.code).toBe(0)
      expect(of(r.events, 'error')).toEqual([expect.objectContaining({ stage: 'deep', code: 'MODEL_MISSING' })])
      expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, stage: 'quick' })
      expect(s.requests.some((q) => q.path === '/api/pull')).toBe(false)
    } finally {
      await s.close()
    }
  })

  it('pulls a missing model with progress, then runs it', async () => {
    const s = await startOllamaTestServer({ models: [{ name: 'llama3.2:1b' }, { name: 'qwen2.5:7b', present: false }] })
    try {
      const p = project()
      const r = await runCli(['chain', 'run', 'quick-deep', 'hi', '--json'], {
        cwd: p.dir,
        env: env(p, { OLLAMA_HOST: s.url }),
      })
      expect(r.code).toBe(0)
      const pulls = of(r.events, 'model-pull')
      expect(pulls.length).toBeGreaterThan(2)
      expect(pulls.at(-1)).toMatchObject({ status: 'success' })
      expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, stage: 'deep' })
      expect(s.present()).toContain('qwen2.5:7b')
    } finally {
      await s.close()
    }
  })

  it('an unknown chain is a clear error listing the known ones', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'nope', 'hi'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/CONFIG_NOT_FOUND: no chain named "nope".*quick-deep/)
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/) // no stack trace
  })

  it('a broken chain file is reported with file:line:column', async () => {
    const p = project({ 'chains/bad.yaml': 'stages:\n  a:\n    model: m\n    prompt: x\n    temprature: 1\n' })
    const r = await runCli(['chain', 'run', 'bad', 'hi'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/bad\.yaml:5:5: .*temprature/)
  })

  it('an unknown chain under --json still streams ack, error and done', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'nope', 'hi', '--json'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(1)
    expect(r.events.map((e) => e.type)).toEqual(['ack', 'error', 'done'])
    expect(r.events[1]).toMatchObject({ code: 'CONFIG_NOT_FOUND' })
    expect(r.events[2]).toMatchObject({ ok: false })
  })

  it('a usage error exits 2 with a hint', async () => {
    const p = project()
    const r = await runCli(['chain', 'run'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/missing CHAIN/)
  })
})

describe('third-party plugins from mirador.config.yaml', () => {
  const TODAY_CHAIN = `stages:\n  only:\n    model: quick\n    prompt: "Today is {{today}}. {{query}}"\n`
  const today = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'UTC',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date())

  it('loads the example plugin by package name, as a user installs it', async () => {
    const p = project({
      'chains/today.yaml': TODAY_CHAIN,
      'mirador.config.yaml':
        'plugins:\n  - name: mirador-plugin-today\n    options: { timeZone: UTC }\n    trusted: true\n',
    })
    // as npm installs it: the package, and its dependency on @mirador/plugin-api beside it
    cpSync(path.join(ROOT, 'examples/plugins/today'), path.join(p.dir, 'node_modules', 'mirador-plugin-today'), {
      recursive: true,
    })
    installPluginApi(p.dir)
    await approvePlugin(p.home, path.join(p.dir, 'node_modules', 'mirador-plugin-today'))
    const r = await runCli(['chain', 'run', 'today', 'hi', '--json'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    expect(of(r.events, 'timestamp')).toEqual([expect.objectContaining({ stage: 'only', today })])
    const sent = server.requests.filter((q) => q.path === '/api/chat').map((q) => q.body.messages.at(-1).content)
    expect(sent).toContain(`Today is ${today}. hi`)
  })

  it('loads a plugin by path, relative to the config file', async () => {
    const p = project({
      'chains/today.yaml': TODAY_CHAIN,
      'mirador.config.yaml': 'plugins:\n  - { name: ./vendor/today, trusted: true }\n',
    })
    cpSync(path.join(ROOT, 'examples/plugins/today'), path.join(p.dir, 'vendor', 'today'), { recursive: true })
    installPluginApi(p.dir)
    await approvePlugin(p.home, path.join(p.dir, 'vendor', 'today'))
    const r = await runCli(['chain', 'run', 'today', 'hi', '--json'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    expect(of(r.events, 'timestamp')).toHaveLength(1)
  })

  it("the example's own MiradorError on bad options stops the run with its code and message", async () => {
    const p = project({
      'chains/today.yaml': TODAY_CHAIN,
      'mirador.config.yaml':
        'plugins:\n  - { name: ./vendor/today, options: { timeZone: Mars/Olympus }, trusted: true }\n',
    })
    cpSync(path.join(ROOT, 'examples/plugins/today'), path.join(p.dir, 'vendor', 'today'), { recursive: true })
    installPluginApi(p.dir)
    await approvePlugin(p.home, path.join(p.dir, 'vendor', 'today'))
    const r = await runCli(['chain', 'run', 'today', 'hi'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      'PLUGIN_OPTIONS: ' +
        `${path.join(p.dir, 'mirador.config.yaml')}:2:13: plugin TodayPlugin: options.timeZone "Mars/Olympus" ` +
        'is not a time zone. Use an IANA name such as Europe/Paris.',
    )
  })

  it('a plugin can add a stage key; without the plugin the key is refused with its position', async () => {
    const plugin = `export default class Mood {
  name = 'MoodPlugin'; apiVersion = 1
  apply(engine) {
    engine.registerStageKeys({
      mood: { type: 'string', enum: ['cheerful', 'grim'], description: 'tone of the answer' },
    })
    engine.hooks.prompt.tap('MoodPlugin', (prompt, ctx) =>
      ctx.spec.mood ? { ...prompt, template: '(' + ctx.spec.mood + ') ' + prompt.template } : prompt,
    )
  }
}
`
    const chainText = 'stages:\n  only:\n    model: quick\n    prompt: "{{query}}"\n    mood: cheerful\n'
    const p = project({
      'chains/moody.yaml': chainText,
      'plugins/mood.js': plugin,
      'plugins/package.json': pluginPackage({
        stageKeys: { mood: { type: 'string', enum: ['cheerful', 'grim'], description: 'tone of the answer' } },
      }),
      'mirador.config.yaml': 'plugins: [{ name: ./plugins/mood.js, trusted: true }]\n',
    })
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
    const r = await runCli(['chain', 'run', 'moody', 'how are you', '--json'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    expect(server.requests.filter((q) => q.path === '/api/chat').map((q) => q.body.messages.at(-1).content)).toContain(
      '(cheerful) how are you',
    )
    const bare = project({ 'chains/moody.yaml': chainText })
    const refused = await runCli(['chain', 'run', 'moody', 'how are you'], { cwd: bare.dir, env: env(bare) })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/moody\.yaml:5:5: .*mood/)
  })

  it('reports a broken optional plugin by name and runs without it', async () => {
    const p = project({
      'chains/today.yaml': TODAY_CHAIN,
      'plugins/throws.js':
        "export default { name: 'Thrower', apiVersion: 1, apply(engine) { " +
        "engine.hooks.prompt.tap('Thrower', () => ({ template: 'HIJACK', vars: {} })); " +
        "throw new Error('no config for me') } }\n",
      'plugins/future.js': "export default { name: 'Future', apiVersion: 99, apply() {} }\n",
      'plugins/package.json': pluginPackage(),
      'mirador.config.yaml':
        'plugins:\n' +
        ['./plugins/throws.js', './plugins/future.js', './plugins/missing.js', 'mirador-plugin-today-nope']
          .map((name) => `  - { name: ${name}, optional: true, trusted: true }\n`)
          .join(''),
    })
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
    const r = await runCli(['chain', 'run', 'today', 'hi', '--json'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    const errs = of(r.events, 'error')
    expect(errs.map((e) => [e.code, e.plugin])).toEqual([
      ['PLUGIN_FAILED', 'Thrower'],
      ['PLUGIN_API', 'Future'],
      ['PLUGIN_LOAD', './plugins/missing.js'],
      ['PLUGIN_LOAD', 'mirador-plugin-today-nope'],
    ])
    expect(errs[0]!.message).toContain('no config for me')
    const sent = server.requests.filter((q) => q.path === '/api/chat').map((q) => q.body.messages.at(-1).content)
    expect(sent).not.toContain('HIJACK')
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true })
  })
})

describe('every event a user can see goes through the event hook', () => {
  // a plugin that writes every event it is given, exactly as --json prints them
  const TAP = `import { appendFileSync } from 'node:fs'
export default {
  name: 'EventTap',
  apiVersion: 1,
  apply(engine) {
    engine.hooks.event.tap('EventTap', (e) => appendFileSync(process.env.EVENT_TAP_FILE, JSON.stringify(e) + '\\n'))
  },
}
`
  it.each([
    ['chain run', ['chain', 'run', 'quick-deep', 'What should I focus on?', '--json']],
    ['ask (routing)', ['ask', 'Help me plan my week', '--json', '--explain']],
    ['a failing stage', ['chain', 'run', 'quick-deep', 'hi', '--json', '--offline']],
  ])('%s: the hook sees exactly what --json prints, ending with done', async (_label, args) => {
    const p = project({
      'plugins/tap.js': TAP,
      'plugins/package.json': pluginPackage({ hooks: ['event'] }),
      'mirador.config.yaml': 'plugins: [{ name: ./plugins/tap.js, trusted: true }]\n',
      ...(_label === 'a failing stage'
        ? {
            'models/manifest.yaml':
              'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n' +
              '  deep: { runtime: ollama, base: "not-pulled:7b" }\n',
          }
        : {}),
    })
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
    const file = path.join(p.dir, 'events.ndjson')
    const r = await runCli(args, { cwd: p.dir, env: env(p, { EVENT_TAP_FILE: file }) })
    const printed = r.stdout.trim().split('\n')
    const tapped = readFileSync(file, 'utf8').trim().split('\n')
    expect(tapped).toEqual(printed)
    expect(r.events.at(-1)!.type).toBe('done')
    expect(r.events[0]!.type).toBe('ack')
    if (_label === 'ask (routing)') expect(r.events.map((e) => e.type)).toContain('route')
    if (_label === 'a failing stage') expect(r.events.map((e) => e.type)).toContain('error')
  })
})
