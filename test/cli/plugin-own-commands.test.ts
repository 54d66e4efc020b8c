/**
 * A plugin's own commands (`mirador.commands` in its package.json), through the real CLI: listed in
 * `mirador --help` from manifests alone, `mirador NAME --help` from its manifest, run in the
 * plugin's sandbox (or in process when trusted), flags checked against the manifest, a name like a
 * built-in's refused, a project's unapproved plugin neither listed nor run, no host left behind.
 */
import { describe, expect, it } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { makeProject, runCli } from '../support/cli.js'
import { approvePlugin } from '../support/plugin-api.js'
import { copyToday, writePackage } from '../support/plugin-packages.js'

/** Processes whose command line mentions `text` (a test's own temporary folder). */
function processesWith(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmd.includes(text) && !cmd.includes('jest')) found.push(`${pid}: ${cmd}`)
    } catch {
      // it ended
    }
  }
  return found
}

const PROBE_JS = `import { readFileSync, writeFileSync } from 'node:fs'
// in process (trusted), its environment is Mirador's: this shows when its code was loaded
if (process.env.PROBE_CANARY) writeFileSync(process.env.PROBE_CANARY, 'imported')
export default { name: 'probe', apiVersion: 1, apply() {} }
export const commands = {
  read: async ({ args }, io) => { io.write(readFileSync(args.file, 'utf8')); return 0 },
  fail: async () => { throw Object.assign(new Error('the probe failed on purpose'), { code: 'PLUGIN_OPTIONS' }) },
  exit: async ({ flags }, io) => { io.log('exiting with', flags.status); return Number(flags.status) },
  shadow: async () => 0,
}
`
const PROBE = {
  apiVersion: 1,
  hooks: [],
  commands: {
    'probe read': {
      summary: 'Read a file <%= 6 * 7 %>',
      args: [{ name: 'file', description: 'the file', required: true }],
      run: 'read',
    },
    'probe:fail': { summary: 'Fail', run: 'fail' },
    'probe exit': { summary: 'Exit', flags: { status: { type: 'string', char: 's' } }, run: 'exit' },
    'chain ls': { summary: 'Shadows a built-in', run: 'shadow' },
  },
  permissions: {},
}

function userWorld(trusted: boolean) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-pcmd-'))
  const home = path.join(dir, 'home')
  mkdirSync(home, { recursive: true, mode: 0o700 })
  writePackage(path.join(dir, 'probe'), { name: 'probe', mirador: PROBE, files: { 'index.js': PROBE_JS } })
  const entry = trusted ? `{ name: ${path.join(dir, 'probe')}, trusted: true }` : path.join(dir, 'probe')
  writeFileSync(path.join(home, 'config.yaml'), `plugins:\n  - ${entry}\n`)
  // a `:` in an argument survives (oclif joins a command line's words with `:`)
  const secret = path.join(dir, 'the:secret.txt')
  writeFileSync(secret, 'the secret\n')
  const canary = path.join(dir, 'canary')
  const env = { MIRADOR_HOME: home, PROBE_CANARY: canary }
  const cli = (args: string[]) => runCli(args, { cwd: dir, env, timeoutMs: 30_000 })
  return { dir, home, secret, canary, cli }
}

describe("an installed plugin's commands", () => {
  it('the example: listed in --help, its own help, run sandboxed, an unknown flag is USAGE, no host left', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-pcmd-'))
    const env = { MIRADOR_HOME: path.join(dir, 'home'), npm_config_cache: path.join(dir, 'npm-cache') }
    const cli = (args: string[]) => runCli(args, { cwd: dir, env, timeoutMs: 60_000 })
    copyToday(path.join(dir, 'today'))
    const install = await cli(['plugins', 'install', './today', '--yes'])
    expect(install.code).toBe(0)
    expect(install.stdout).toContain('  commands:     mirador today\n')

    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(
      /\nPLUGIN COMMANDS\n {2}today {2}Print today's date in the plugin's time zone\. \[mirador-plugin-today\]\n/,
    )
    expect(help.stderr).toBe('')

    const own = await cli(['today', '--help'])
    expect(own.code).toBe(0)
    expect(own.stdout).toContain('USAGE\n  $ mirador today [--json]')
    expect(own.stdout).toContain('EXAMPLES\n  $ mirador today\n\n  $ mirador today --json')
    expect(own.stdout).toContain('PLUGIN\n  mirador-plugin-today 1.0.0 (runs in its sandbox')

    const today = await cli(['today'])
    expect(today.stderr).toBe('')
    expect(today.code).toBe(0)
    expect(today.stdout).toMatch(/^\d{4}-\d{2}-\d{2}\n$/)
    const json = await cli(['today', '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ date: today.stdout.trim(), timeZone: expect.any(String) })

    const bad = await cli(['today', '--zone', 'Europe/Paris'])
    expect(bad.code).toBe(2)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toBe(
      '✗ USAGE: mirador today has no flag --zone (its flags: --json). See `mirador today --help`.\n',
    )
    const typo = await cli(['tody'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('Did you mean `mirador today`?')
    expect(processesWith(dir)).toEqual([])
  })
})

describe('commands of a plugin in $MIRADOR_HOME/config.yaml', () => {
  it('sandboxed: arguments, exit status, errors as one line with a code; reads outside it refused', async () => {
    const w = userWorld(false)
    const help = await w.cli(['--help'])
    expect(help.code).toBe(0)
    // its texts are shown as they are: oclif's templates do not run them
    expect(help.stdout).toMatch(/ {2}probe read {2}Read a file <\u200b%= 6 \* 7 %\u200b> \[probe\]/)
    expect(help.stdout).toMatch(/ {2}probe fail {2}Fail \[probe\]/)
    expect(help.stdout).not.toMatch(/Shadows a built-in/)
    expect(help.stderr).toMatch(
      /^✗ PLUGIN_MANIFEST: .*package\.json:\d+:\d+: plugin probe: its command "chain ls" would shadow Mirador's own `mirador chain`/,
    )

    const exit = await w.cli(['probe', 'exit', '-s', '3'])
    expect(exit.code).toBe(3)
    expect(exit.stderr).toBe('exiting with 3\n')
    const fail = await w.cli(['probe', 'fail'])
    expect(fail.code).toBe(1)
    expect(fail.stderr).toBe('✗ PLUGIN_OPTIONS: plugin probe, command "probe fail": the probe failed on purpose\n')
    const missing = await w.cli(['probe', 'read'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(
      /^✗ USAGE: mirador probe read: missing FILE: the file\. See `mirador probe read --help`\.\n$/,
    )

    const read = await w.cli(['probe', 'read', w.secret])
    expect(read.code).toBe(1)
    expect(read.stdout).toBe('')
    expect(read.stderr).toMatch(/^✗ PLUGIN_FAILED: plugin probe, command "probe read": .*(restricted|denied)/i)

    // the built-in wins
    const ls = await w.cli(['chain', 'ls', '--json'])
    expect(ls.code).toBe(0)
    expect(Array.isArray(JSON.parse(ls.stdout))).toBe(true)
    expect(processesWith(w.dir)).toEqual([])
  })

  it("trusted: true runs it in Mirador's process, with the user's rights", async () => {
    const w = userWorld(true)
    // listing and help come from the manifest: no code of the plugin is loaded for them
    expect((await w.cli(['--help'])).stdout).toContain('probe read')
    expect(existsSync(w.canary)).toBe(false)
    const read = await w.cli(['probe', 'read', w.secret])
    expect(existsSync(w.canary)).toBe(true)
    expect(read.stderr).toBe('')
    expect(read.code).toBe(0)
    expect(read.stdout).toBe('the secret\n')
    rmSync(w.canary)
    const own = await w.cli(['probe', 'read', '--help'])
    expect(existsSync(w.canary)).toBe(false)
    expect(own.stdout).toContain('Read a file <\u200b%= 6 * 7 %\u200b>\n')
    expect(own.stdout).not.toContain('42')
    expect(own.stdout).toContain("PLUGIN\n  probe 1.0.0 (trusted: runs in Mirador's process)")
  })

  it('plugins check refuses a command named like a built-in, at its place in package.json', async () => {
    const w = userWorld(false)
    const r = await w.cli(['plugins', 'check', './probe'])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /manifest: PLUGIN_MANIFEST: package\.json:\d+:\d+: plugin probe: its command "chain ls" would shadow/,
    )
    // a name that is not lower-case words: the schema's error, at its place
    writePackage(path.join(w.dir, 'loud'), {
      name: 'loud',
      mirador: { apiVersion: 1, hooks: [], commands: { 'Say Hi': { summary: 'Hi', run: 'hi' } } },
      files: { 'index.js': 'export default { name: "loud", apiVersion: 1, apply() {} }\n' },
    })
    const loud = await w.cli(['plugins', 'check', './loud'])
    expect(loud.code).toBe(1)
    expect(loud.stdout).toMatch(/manifest: PLUGIN_MANIFEST: package\.json:\d+:\d+: .*commands.*lower-case words/)
  })
})

describe("a project's plugin", () => {
  it('unapproved: its commands are not listed and do not run; approved, they are and do', async () => {
    const p = makeProject({
      'plugins/hello/package.json': JSON.stringify({
        name: 'hello-plugin',
        version: '1.0.0',
        type: 'module',
        mirador: { apiVersion: 1, hooks: [], commands: { hello: { summary: 'Say hello', run: 'hello' } } },
      }),
      'plugins/hello/index.js':
        "import { writeFileSync } from 'node:fs'\n" +
        "export default { name: 'hello', apiVersion: 1, apply() {} }\n" +
        'export const commands = {\n' +
        "  hello: async (input, io) => { writeFileSync(io.cwd + '/canary', 'ran'); io.write('hello\\n') },\n" +
        '}\n',
      'mirador.config.yaml': 'plugins: [{ name: ./plugins/hello, trusted: true }]\n',
    })
    const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).not.toContain('PLUGIN COMMANDS')
    const run = await cli(['hello'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /^✗ PLUGIN_UNAPPROVED: plugin hello-plugin .*`mirador plugins approve .*plugins\/hello`\n$/,
    )
    expect(existsSync(path.join(p.dir, 'canary'))).toBe(false)

    await approvePlugin(p.home, path.join(p.dir, 'plugins', 'hello'))
    expect((await cli(['--help'])).stdout).toMatch(/PLUGIN COMMANDS\n {2}hello {2}Say hello \[hello-plugin\]/)
    const ran = await cli(['hello'])
    expect(ran.code).toBe(0)
    expect(ran.stdout).toBe('hello\n')
    expect(readFileSync(path.join(p.dir, 'canary'), 'utf8')).toBe('ran')
  })
})
