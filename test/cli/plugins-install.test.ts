/**
 * `mirador plugins install | ls | info | rm` through the real CLI, from a folder and a .tgz: what is
 * pinned, enabled and loaded, and what is refused before anything in the store changes (install
 * scripts of the plugin or of a dependency, no terminal without --yes, the deny list).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { BIN, runCli } from '../support/cli.js'
import { copyToday, writePackage } from '../support/plugin-packages.js'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-install-'))
  const home = path.join(dir, 'home')
  const env = { MIRADOR_HOME: home, npm_config_cache: path.join(dir, 'npm-cache'), OLLAMA_HOST: server.url }
  const cli = (args: string[]) => runCli(args, { cwd: dir, env, timeoutMs: 60_000 })
  return { dir, home, env, cli }
}

const lockOf = (home: string) =>
  JSON.parse(readFileSync(path.join(home, 'plugins', 'plugins.lock.json'), 'utf8')) as {
    plugins: Record<string, Record<string, unknown>>
  }

describe('mirador plugins install from a folder', () => {
  it('installs the example plugin checked and pinned, enables it (comments kept), and a chain uses it', async () => {
    const w = world()
    copyToday(path.join(w.dir, 'today'))
    execFileSync('mkdir', ['-p', w.home])
    writeFileSync(path.join(w.home, 'config.yaml'), '# my settings\noffline: false # keep\n')
    const r = await w.cli(['plugins', 'install', './today', '--yes'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('  hooks:        prompt')
    expect(r.stdout).toContain('Installed mirador-plugin-today 1.0.0')
    expect(readFileSync(path.join(w.home, 'config.yaml'), 'utf8')).toBe(
      '# my settings\noffline: false # keep\nplugins:\n  - mirador-plugin-today\n',
    )
    const locked = lockOf(w.home).plugins['mirador-plugin-today']!
    expect(locked).toMatchObject({
      version: '1.0.0',
      source: { kind: 'folder', spec: path.join(w.dir, 'today') },
      integrity: expect.stringMatching(/^sha512-[A-Za-z0-9+/]{86}==$/),
      signatures: 'not applicable',
      manifest: { hooks: ['prompt'] },
    })
    expect(Object.keys(locked.files as object)).toEqual(['README.md', 'index.js', 'package.json'])
    // the tarball it was installed from is kept, and is the integrity pinned
    const tgz = path.join(w.home, 'plugins', String(locked.tarball))
    const sha = execFileSync('openssl', ['dgst', '-sha512', '-binary', tgz])
    expect(`sha512-${sha.toString('base64')}`).toBe(locked.integrity)

    const ls = await w.cli(['plugins', 'ls'])
    expect(ls.stdout).toMatch(/^● mirador-plugin-today\s+1\.0\.0\s+folder\s+clean$/m)
    const info = await w.cli(['plugins', 'info', 'mirador-plugin-today', '--json'])
    expect(JSON.parse(info.stdout)).toMatchObject({ enabled: true, allowed: true, name: 'mirador-plugin-today' })

    // loading finds it by name in $MIRADOR_HOME/plugins/node_modules
    const project = {
      'chains/day.yaml': 'stages:\n  only:\n    model: quick\n    prompt: "Today is {{today}}. {{query}}"\n',
      'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n',
    }
    for (const [rel, text] of Object.entries(project)) {
      execFileSync('mkdir', ['-p', path.dirname(path.join(w.dir, rel))])
      writeFileSync(path.join(w.dir, rel), text)
    }
    const run = await w.cli(['chain', 'run', 'day', 'hi', '--json'])
    expect(run.events.filter((e) => e.type === 'error')).toEqual([])
    expect(run.code).toBe(0)
    const sent = server.requests.filter((q) => q.path === '/api/chat').map((q) => q.body.messages.at(-1).content)
    expect(sent).toContainEqual(expect.stringMatching(/^Today is \d{4}-\d{2}-\d{2}\. hi$/))

    const again = await w.cli(['plugins', 'install', './today', '--yes'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('is installed already, with this very content')

    const rm = await w.cli(['plugins', 'rm', 'mirador-plugin-today'])
    expect(rm.code).toBe(0)
    expect(lockOf(w.home).plugins).toEqual({})
    expect(existsSync(path.join(w.home, 'plugins', 'node_modules', 'mirador-plugin-today'))).toBe(false)
    expect(existsSync(tgz)).toBe(false)
    expect(readFileSync(path.join(w.home, 'config.yaml'), 'utf8')).toBe(
      '# my settings\noffline: false # keep\nplugins: []\n',
    )
  })

  it('in a terminal it asks before enabling: no leaves the store as it was, yes installs', async () => {
    const w = world()
    copyToday(path.join(w.dir, 'today'))
    // a terminal, as `script` gives one (util-linux), with the answer typed ahead
    const inTerminal = (answer: string) =>
      new Promise<string>((resolve, reject) => {
        const cmd = `${process.execPath} ${BIN} plugins install ./today`
        const child = spawn('script', ['-qec', cmd, '/dev/null'], {
          cwd: w.dir,
          env: { PATH: process.env.PATH, HOME: w.dir, NO_COLOR: '1', ...w.env },
        })
        let out = ''
        child.stdout.on('data', (d: Buffer) => (out += d.toString()))
        child.on('error', reject)
        child.on('close', () => resolve(out))
        child.stdin.end(answer)
      })
    const no = await inTerminal('n\n')
    expect(no).toContain('Enable mirador-plugin-today 1.0.0? [y/N]')
    expect(no).toContain('Not installed.')
    expect(existsSync(path.join(w.home, 'plugins', 'plugins.lock.json'))).toBe(false)
    expect(existsSync(path.join(w.home, 'config.yaml'))).toBe(false)
    const yes = await inTerminal('y\n')
    expect(yes).toContain('Installed mirador-plugin-today 1.0.0')
    expect(Object.keys(lockOf(w.home).plugins)).toEqual(['mirador-plugin-today'])
  })

  it('with no terminal, --yes is required, and nothing is fetched', async () => {
    const w = world()
    copyToday(path.join(w.dir, 'today'))
    const r = await w.cli(['plugins', 'install', './today'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^✗ USAGE: no terminal to ask in: run `mirador plugins install \.\/today --yes`/)
    expect(existsSync(path.join(w.home, 'plugins'))).toBe(false)
  })

  it('installs from a .tgz', async () => {
    const w = world()
    copyToday(path.join(w.dir, 'package'))
    execFileSync('tar', ['-czf', 'today.tgz', 'package'], { cwd: w.dir })
    const r = await w.cli(['plugins', 'install', 'today.tgz', '--yes', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ installed: true, name: 'mirador-plugin-today', check: { ok: true } })
    expect(lockOf(w.home).plugins['mirador-plugin-today']).toMatchObject({
      source: { kind: 'tarball', spec: path.join(w.dir, 'today.tgz') },
    })
  })
})

describe('what install refuses', () => {
  it("a plugin's own install script: refused with the reason, its prepare never run, the store unchanged", async () => {
    const w = world()
    const canary = path.join(w.dir, 'canary')
    const write = `node -e "require('fs').writeFileSync('${canary}', '1')"`
    writePackage(path.join(w.dir, 'scripted'), {
      name: 'scripted',
      mirador: { apiVersion: 1, hooks: ['event'] },
      scripts: { postinstall: write, prepare: write, prepack: write },
      files: { 'index.js': 'export default {}\n' },
    })
    const r = await w.cli(['plugins', 'install', './scripted', '--yes'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('✗ PLUGIN_INSTALL: scripted is refused: scripted has an install script (postinstall:')
    expect(existsSync(canary)).toBe(false)
    expect(existsSync(path.join(w.home, 'plugins', 'plugins.lock.json'))).toBe(false)
    expect(existsSync(path.join(w.home, 'config.yaml'))).toBe(false)
  })

  it("a dependency's install script: refused, naming the dependency; never run", async () => {
    const w = world()
    const canary = path.join(w.dir, 'canary')
    writePackage(path.join(w.dir, 'package'), {
      name: 'sneaky-dep',
      scripts: { install: `node -e "require('fs').writeFileSync('${canary}', '1')"` },
      files: { 'index.js': 'export default 1\n' },
    })
    execFileSync('tar', ['-czf', 'sneaky-dep.tgz', 'package'], { cwd: w.dir })
    writePackage(path.join(w.dir, 'innocent'), {
      name: 'innocent',
      mirador: { apiVersion: 1, hooks: ['event'] },
      dependencies: { 'sneaky-dep': `file:${path.join(w.dir, 'sneaky-dep.tgz')}` },
      files: { 'index.js': "import x from 'sneaky-dep'\nexport default { x }\n" },
    })
    const r = await w.cli(['plugins', 'install', './innocent', '--yes'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('innocent is refused: sneaky-dep has an install script (install:')
    expect(r.stdout).toContain('install scripts: sneaky-dep install:')
    expect(existsSync(canary)).toBe(false)
    expect(existsSync(path.join(w.home, 'plugins', 'node_modules', 'innocent'))).toBe(false)
  })

  it('a plugin whose code does what no permission grants (tampering with a built-in)', async () => {
    const w = world()
    writePackage(path.join(w.dir, 'tamper'), {
      name: 'tamper',
      mirador: { apiVersion: 1, hooks: ['event'] },
      files: { 'index.js': 'JSON.parse = () => ({ hijacked: true })\nexport default {}\n' },
    })
    const r = await w.cli(['plugins', 'install', './tamper', '--yes'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^✗ PLUGIN_INSTALL: tamper is refused: index\.js:1:1 tamper /)
    expect(existsSync(path.join(w.home, 'plugins', 'node_modules', 'tamper'))).toBe(false)
  })

  it('a plugin on the deny list', async () => {
    const w = world()
    copyToday(path.join(w.dir, 'today'))
    execFileSync('mkdir', ['-p', path.join(w.home, 'plugins')])
    writeFileSync(
      path.join(w.home, 'plugins', 'policy.json'),
      JSON.stringify({ deny: [{ name: 'mirador-plugin-today' }] }),
    )
    const r = await w.cli(['plugins', 'install', './today', '--yes'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^✗ PLUGIN_DENIED: mirador-plugin-today is on the deny list \(.*policy\.json\)/)
    expect(existsSync(path.join(w.home, 'plugins', 'plugins.lock.json'))).toBe(false)
  })
})

describe('mirador plugins verify', () => {
  it('passes an untouched install; reports a changed, an added and a removed file (status 1)', async () => {
    const w = world()
    copyToday(path.join(w.dir, 'today'))
    expect((await w.cli(['plugins', 'install', './today', '--yes'])).code).toBe(0)
    const clean = await w.cli(['plugins', 'verify'])
    expect(clean.stdout.trim()).toBe('✓ mirador-plugin-today 1.0.0')
    expect(clean.code).toBe(0)
    const dir = path.join(w.home, 'plugins', 'node_modules', 'mirador-plugin-today')
    writeFileSync(path.join(dir, 'index.js'), `${readFileSync(path.join(dir, 'index.js'), 'utf8')}\nfetch('x')\n`)
    writeFileSync(path.join(dir, 'extra.js'), 'export {}\n')
    execFileSync('rm', [path.join(dir, 'README.md')])
    const r = await w.cli(['plugins', 'verify'])
    expect(r.code).toBe(1)
    expect(r.stdout.trim().split('\n')).toEqual([
      '✗ mirador-plugin-today 1.0.0',
      '  changed: index.js',
      '  added:   extra.js',
      '  removed: README.md',
    ])
    const json = await w.cli(['plugins', 'verify', 'mirador-plugin-today', '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, plugins: [{ changed: ['index.js'], tarball: 'ok' }] })
    const unknown = await w.cli(['plugins', 'verify', 'nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('nope is not installed. Installed plugins: mirador-plugin-today')
  })

  it('an installed plugin imports its dependency from the store when it runs sandboxed', async () => {
    const w = world()
    writePackage(path.join(w.dir, 'package'), {
      name: 'prefixer',
      files: { 'index.js': "export default 'FROM-DEPENDENCY'\n" },
    })
    execFileSync('tar', ['-czf', 'prefixer.tgz', 'package'], { cwd: w.dir })
    const tap =
      "import prefix from 'prefixer'\n" +
      "export default { name: 'p', apiVersion: 1, apply(engine) {\n" +
      "  engine.hooks.prompt.tap('p', (p) => ({ ...p, template: prefix + ' ' + p.template }))\n} }\n"
    writePackage(path.join(w.dir, 'user'), {
      name: 'prefix-user',
      mirador: { apiVersion: 1, hooks: ['prompt'] },
      dependencies: { prefixer: `file:${path.join(w.dir, 'prefixer.tgz')}` },
      files: { 'index.js': tap },
    })
    expect((await w.cli(['plugins', 'install', './user', '--yes'])).code).toBe(0)
    mkdirSync(path.join(w.dir, 'chains'))
    mkdirSync(path.join(w.dir, 'models'))
    writeFileSync(
      path.join(w.dir, 'chains', 'one.yaml'),
      'stages:\n  only:\n    model: quick\n    prompt: "{{query}}"\n',
    )
    writeFileSync(
      path.join(w.dir, 'models', 'manifest.yaml'),
      'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n',
    )
    const run = await w.cli(['chain', 'run', 'one', 'dep-check', '--json'])
    expect(run.events.filter((e) => e.type === 'error')).toEqual([])
    const sent = server.requests.filter((q) => q.path === '/api/chat').map((q) => q.body.messages.at(-1).content)
    expect(sent).toContain('FROM-DEPENDENCY dep-check')
  })

  it("reports a change to a plugin's dependency in the store", async () => {
    const w = world()
    writePackage(path.join(w.dir, 'package'), { name: 'helper', files: { 'index.js': 'export default 1\n' } })
    execFileSync('tar', ['-czf', 'helper.tgz', 'package'], { cwd: w.dir })
    writePackage(path.join(w.dir, 'user'), {
      name: 'helper-user',
      mirador: { apiVersion: 1, hooks: ['event'] },
      dependencies: { helper: `file:${path.join(w.dir, 'helper.tgz')}` },
      files: { 'index.js': "import h from 'helper'\nexport default { h }\n" },
    })
    expect((await w.cli(['plugins', 'install', './user', '--yes'])).code).toBe(0)
    const clean = await w.cli(['plugins', 'verify'])
    expect(clean.stdout.trim().split('\n')).toEqual(['✓ helper-user 1.0.0', '✓ their dependencies (node_modules)'])
    writeFileSync(path.join(w.home, 'plugins', 'node_modules', 'helper', 'index.js'), 'export default 2\n')
    const r = await w.cli(['plugins', 'verify'])
    expect(r.code).toBe(1)
    expect(r.stdout.trim().split('\n')).toEqual([
      '✓ helper-user 1.0.0',
      '✗ their dependencies (node_modules)',
      '  changed: node_modules/helper/index.js',
    ])
  })
})
