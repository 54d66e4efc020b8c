/**
 * A plugin a project's mirador.config.yaml names runs only once approved, with the real CLI and no
 * terminal: the run stops before any stage naming `mirador plugins approve PATH`; approving records
 * the plugin's path and content hash only; a changed plugin is asked about again; plugins the user's
 * own config names need no approval.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { pluginPackage } from '../support/plugin-api.js'

const MANIFEST = 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n'
const CHAIN = 'stages:\n  only:\n    model: quick\n    prompt: "{{query}}"\n'
/** marks its code having run; SECRET-SOURCE-7f3a must never be copied anywhere */
const MARK = `import { writeFileSync } from 'node:fs'
// SECRET-SOURCE-7f3a
export default {
  name: 'Mark', apiVersion: 1,
  apply(engine) {
    writeFileSync(new URL('./ran', import.meta.url), 'x')
    engine.hooks.prompt.tap('Mark', (p) => ({ ...p, template: 'marked: ' + p.template }))
  },
}
`

/** MARK writing in its tap, and going on when the write is refused */
const MARK_IN_TAP = `import { writeFileSync } from 'node:fs'
export default {
  name: 'Mark', apiVersion: 1,
  apply(engine) {
    engine.hooks.prompt.tap('Mark', (p) => {
      try { writeFileSync(new URL('./ran', import.meta.url), 'x') } catch {}
      return { ...p, template: 'marked: ' + p.template }
    })
  },
}
`

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

function project(files: Record<string, string> = {}) {
  const p = makeProject({
    'chains/one.yaml': CHAIN,
    'models/manifest.yaml': MANIFEST,
    'vendor/mark/index.js': MARK,
    'vendor/mark/package.json': pluginPackage({}, { name: 'mark-plugin', version: '1.0.0' }),
    'mirador.config.yaml': 'plugins: [{ name: ./vendor/mark, trusted: true }]\n',
    ...files,
  })
  const dir = realpathSync(path.join(p.dir, 'vendor', 'mark'))
  return { ...p, plugin: dir, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } }
}

const ran = (dir: string) => existsSync(path.join(dir, 'ran'))
const chats = () => server.requests.filter((q) => q.path === '/api/chat').length

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
}

describe('project plugins need approval', () => {
  it('with no terminal, an unapproved one stops the run before any stage, naming the command', async () => {
    const p = project()
    const before = chats()
    const r = await runCli(['chain', 'run', 'one', 'hi'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    const line = r.stderr.split('\n').find((l) => l.includes('PLUGIN_UNAPPROVED'))
    expect(line).toContain(`plugin mark-plugin (${p.plugin}) is named by the project's config and is not approved yet`)
    expect(line).toContain(`run \`mirador plugins approve ${p.plugin}\``)
    expect(line).toMatch(/mirador\.config\.yaml:1:19: /)
    expect(r.stderr).toContain('the run stopped before any stage')
    expect(ran(p.plugin)).toBe(false)
    expect(chats()).toBe(before)
    const json = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(json.events.find((e) => e.type === 'error')).toMatchObject({
      code: 'PLUGIN_UNAPPROVED',
      plugin: 'mark-plugin',
    })
  })

  it('`plugins approve` records its path and hash only; the run then loads it; a change asks again', async () => {
    const p = project()
    const approved = await runCli(['plugins', 'approve', 'vendor/mark', '--json'], { cwd: p.dir, env: p.env })
    expect(approved.code).toBe(0)
    const out = JSON.parse(approved.stdout)
    expect(out).toEqual({
      name: 'mark-plugin',
      version: '1.0.0',
      dir: p.plugin,
      hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      files: 2,
    })
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.events.filter((e) => e.type === 'error')).toEqual([])
    expect(r.code).toBe(0)
    expect(ran(p.plugin)).toBe(true)
    expect(server.requests.at(-1)?.body.messages.at(-1).content).toBe('marked: hi')

    // what Mirador keeps: the path and the hash, no byte of the plugin
    const stored = JSON.parse(readFileSync(path.join(p.home, 'plugins', 'approved.json'), 'utf8'))
    expect(stored).toEqual({ version: 1, approved: { [p.plugin]: out.hash } })
    expect(readdirSync(path.join(p.home, 'plugins'))).toEqual(['approved.json'])
    for (const f of filesUnder(p.home)) expect(readFileSync(f, 'utf8')).not.toContain('SECRET-SOURCE-7f3a')

    // the plugin changes (the `ran` mark it wrote is part of it too: a plugin writing into itself is a change)
    writeFileSync(path.join(p.plugin, 'index.js'), MARK.replace('marked: ', 'changed: '))
    const again = await runCli(['chain', 'run', 'one', 'hi'], { cwd: p.dir, env: p.env })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('has changed since you approved it')
    expect(again.stderr).toContain(`mirador plugins approve ${p.plugin}`)
    expect(server.requests.at(-1)?.body.messages.at(-1).content).toBe('marked: hi')
  })

  it('a plain-text approval says what it approved; a folder without a manifest is refused', async () => {
    const p = project({ 'vendor/bare/index.js': MARK, 'vendor/bare/package.json': '{"name":"bare"}' })
    const r = await runCli(['plugins', 'approve', './vendor/mark'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^✓ approved mark-plugin 1\.0\.0 \(.*vendor\/mark\): 2 files, sha256:[0-9a-f]{64}\n/)
    expect(r.stdout).toContain('hooks: prompt; permissions: none')
    const bare = await runCli(['plugins', 'approve', './vendor/bare'], { cwd: p.dir, env: p.env })
    expect(bare.code).toBe(1)
    expect(bare.stderr).toMatch(/PLUGIN_MANIFEST: .*package\.json:1:2: plugin bare: package\.json has no "mirador"/)
  })

  it("a plugin named by the user's own config needs no approval", async () => {
    const p = project({ 'mirador.config.yaml': 'memory: off\n' })
    writeFileSync(path.join(p.home, 'config.yaml'), `plugins: [{ name: ${p.plugin}, trusted: true }]\n`)
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.events.filter((e) => e.type === 'error')).toEqual([])
    expect(r.code).toBe(0)
    expect(ran(p.plugin)).toBe(true)
  })

  it("a plugin on the user's deny list is not loaded, even from the user's own config", async () => {
    const p = project({ 'mirador.config.yaml': 'memory: off\n' })
    writeFileSync(path.join(p.home, 'config.yaml'), `plugins: [{ name: ${p.plugin}, trusted: true }]\n`)
    mkdirSync(path.join(p.home, 'plugins'), { recursive: true })
    writeFileSync(path.join(p.home, 'plugins', 'policy.json'), JSON.stringify({ deny: [{ name: 'mark-plugin' }] }))
    const before = chats()
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    expect(r.events.find((e) => e.type === 'error')).toMatchObject({ code: 'PLUGIN_DENIED', plugin: 'mark-plugin' })
    expect(ran(p.plugin)).toBe(false)
    expect(chats()).toBe(before)
  })

  it('an untrusted plugin runs sandboxed once approved: its tap works, a write it may not do is refused', async () => {
    const p = project({
      'mirador.config.yaml': 'plugins: [./vendor/mark]\n',
      'vendor/mark/index.js': MARK_IN_TAP,
    })
    const unapproved = await runCli(['chain', 'run', 'one', 'hi'], { cwd: p.dir, env: p.env })
    expect(unapproved.code).toBe(1)
    expect(unapproved.stderr).toContain('PLUGIN_UNAPPROVED')
    await runCli(['plugins', 'approve', 'vendor/mark'], { cwd: p.dir, env: p.env })
    const before = server.requests.length
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    const sent = server.requests.slice(before).filter((q) => q.path === '/api/chat')
    expect(sent.map((q) => q.body.messages.at(-1).content)).toEqual(['marked: hi'])
    expect(ran(p.plugin)).toBe(false)
    expect(r.events.filter((e) => e.type === 'error')).toEqual([])
    const refused = r.events.find((e) => e.type === 'log' && e.code === 'PLUGIN_SANDBOX')
    expect(refused).toMatchObject({ level: 'warn', plugin: 'mark-plugin' })
    expect(refused?.message).toMatch(
      /refused plugin mark-plugin an access outside its permissions \(fs: FileSystemWrite /,
    )
    expect(refused?.message).toContain(path.join(p.plugin, 'ran'))
  })
})
