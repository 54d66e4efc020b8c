/**
 * A plugin written from docs/plugins.md alone (test/fixtures/plugin-api/my-plugin.js), named in
 * mirador.config.yaml as a newcomer names it, run by the real CLI: how its path resolves, what the
 * user sees of its MiradorErrors, and what a plugin that fails to load does to a run and to doctor.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, ROOT, runCli } from '../support/cli.js'
import { approvePlugin, installPluginApi, pluginPackage } from '../support/plugin-api.js'

const MY_PLUGIN = readFileSync(path.join(ROOT, 'test/fixtures/plugin-api/my-plugin.js'), 'utf8')
const MANIFEST = 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n'
const CHAIN = 'stages:\n  only:\n    model: quick\n    prompt: "{{greeting}}! {{query}}"\n'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

/** What my-plugin.js declares in its package.json. */
const MY_MANIFEST = { hooks: ['prompt', 'model'], templateVars: ['greeting'] }

/** A project with the plugin at plugins/my-plugin.js and @mirador/plugin-api installed, approved. */
async function project(config: string) {
  const p = makeProject({
    'chains/greet.yaml': CHAIN,
    'models/manifest.yaml': MANIFEST,
    'plugins/my-plugin.js': MY_PLUGIN,
    'mirador.config.yaml': config,
    // as docs/plugins.md has the author set it up (npm install …/plugin-api, npm pkg set type=module, the manifest)
    'package.json': pluginPackage(MY_MANIFEST, { dependencies: { '@mirador/plugin-api': 'file:…' } }),
  })
  installPluginApi(p.dir)
  await approvePlugin(p.home, p.dir)
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } }
}

const chats = () => server.requests.filter((q) => q.path === '/api/chat')

describe('a plugin named by path, importing @mirador/plugin-api', () => {
  it('`./plugins/my-plugin` finds my-plugin.js; its options are checked by validatePluginOptions', async () => {
    const p = await project(
      'plugins:\n  - name: ./plugins/my-plugin\n    options: { greeting: Bonjour }\n    trusted: true\n',
    )
    const r = await runCli(['chain', 'run', 'greet', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.events.filter((e) => e.type === 'error')).toEqual([])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(chats().map((q) => q.body.messages.at(-1).content)).toContain('Bonjour! hi')
  })

  it("a MiradorError it throws reaches the user with its code and message, as a built-in's does", async () => {
    const p = await project(
      'plugins:\n  - name: ./plugins/my-plugin\n    options: { refuse: quick }\n    trusted: true\n',
    )
    const json = await runCli(['chain', 'run', 'greet', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(json.code).toBe(1)
    const message = 'model quick is refused by GreetingPlugin: take it out of refuse:'
    // the engine took it as the model hook's answer, not as a broken plugin (PLUGIN_FAILED)
    expect(json.events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({ stage: 'only', code: 'MODEL_MISSING', message }),
    ])
    const plain = await runCli(['chain', 'run', 'greet', 'hi'], { cwd: p.dir, env: p.env })
    expect(plain.code).toBe(1)
    expect(plain.stderr).toContain(`MODEL_MISSING: ${message}`)
    expect(plain.stderr).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('options its schema refuses stop the run before any stage, with the code and the entry', async () => {
    const p = await project(
      'plugins:\n  - name: ./plugins/my-plugin\n    options: { greting: Hi }\n    trusted: true\n',
    )
    const before = chats().length
    const r = await runCli(['chain', 'run', 'greet', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    expect(r.events.map((e) => e.type)).toEqual(['ack', 'error', 'error', 'done'])
    expect(r.events[1]).toMatchObject({
      code: 'PLUGIN_OPTIONS',
      plugin: 'GreetingPlugin',
      message: expect.stringMatching(/mirador\.config\.yaml:2:11: plugin GreetingPlugin: .*\(greting\)/),
    })
    expect(r.events[2]).toMatchObject({ code: 'PLUGIN_OPTIONS', message: expect.stringContaining('optional: true') })
    expect(r.events[3]).toMatchObject({ ok: false, answer: '' })
    expect(chats().length).toBe(before)
  })

  it('a path that finds nothing says what was tried and the near file, and the run fails', async () => {
    const p = await project('plugins:\n  - ./plugins/my-plugn\n')
    const r = await runCli(['chain', 'run', 'greet', 'hi'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    expect(r.stdout.trim()).toMatch(/^▸ greet \(r_\w+\)$/) // the acknowledgment, and no answer
    const first = r.stderr.split('\n').find((l) => l.includes('PLUGIN_LOAD'))
    expect(first).toContain(`${path.join(p.dir, 'mirador.config.yaml')}:2:5: plugin ./plugins/my-plugn not found`)
    expect(first).toContain('tried plugins/my-plugn, plugins/my-plugn.js, .mjs, .cjs and a folder plugins/my-plugn/')
    expect(first).toContain('Did you mean "./plugins/my-plugin"?')
    expect(r.stderr).toContain('the run stopped before any stage')
  })

  it('`optional: true`: the run reports the plugin and answers without it', async () => {
    const p = await project('plugins:\n  - { name: ./plugins/my-plugn, optional: true }\n')
    const r = await runCli(['chain', 'run', 'greet', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    expect(r.events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({
        code: 'PLUGIN_LOAD',
        plugin: './plugins/my-plugn',
        message: expect.stringMatching(/:2:13: .*Did you mean .*\? It is optional: runs go on without it\.$/),
      }),
    ])
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true })
  })

  it('doctor lists the failed plugin at its entry; only a required one fails the check', async () => {
    const p = await project('plugins:\n  - ./plugins/my-plugn\n  - { name: ./plugins/gone, optional: true }\n')
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env })
    const report = JSON.parse(r.stdout)
    expect(report.plugins.failed).toEqual([
      expect.objectContaining({ code: 'PLUGIN_LOAD', optional: false, message: expect.stringContaining(':2:5: ') }),
      expect.objectContaining({ code: 'PLUGIN_LOAD', optional: true, message: expect.stringContaining(':3:13: ') }),
    ])
    expect(report.ok).toBe(false)
    expect(r.code).toBe(1)
  })

  it('without @mirador/plugin-api installed, the error says how to install it', async () => {
    const p = makeProject({
      'chains/greet.yaml': CHAIN,
      'models/manifest.yaml': MANIFEST,
      'plugins/my-plugin.js': MY_PLUGIN,
      'plugins/package.json': pluginPackage(MY_MANIFEST),
      'mirador.config.yaml': 'plugins: [{ name: ./plugins/my-plugin, trusted: true }]\n',
    })
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
    const r = await runCli(['chain', 'run', 'greet', 'hi'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`npm install ${path.join(ROOT, 'packages', 'plugin-api')}`)
  })

  it('a .js plugin read as CommonJS: the error says to name it .mjs or set "type": "module"', async () => {
    const p = await project('plugins: [{ name: ./plugins/my-plugin, trusted: true }]\n')
    writeFileSync(path.join(p.dir, 'package.json'), pluginPackage(MY_MANIFEST, { type: 'commonjs' }))
    await approvePlugin(p.home, p.dir)
    const before = chats().length
    const r = await runCli(['chain', 'run', 'greet', 'hi'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('my-plugin.js is read as CommonJS. Name it .mjs, or add "type": "module"')
    expect(chats().length).toBe(before)
  })
})
