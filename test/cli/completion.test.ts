/**
 * `mirador autocomplete`: the scripts it writes, run in a real bash with COMP_WORDS/COMP_CWORD as
 * bash sets them on TAB, offer chain, model, tool, profile and session names from the user's files
 * (through `mirador __complete KIND`), and fall back to the plugin's commands and flags. The zsh
 * script is checked as generated, its word-walking function run over zsh's 1-based `words`, and then
 * used as a user would: an interactive zsh (compinit, the script on fpath) in a real pseudo-terminal
 * (tmux), where TAB completes the command line on the screen.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { loadCipher } from '../../src/lib/crypto.js'
import { SessionStore } from '../../src/plugins/memory/sessions.js'
import { BIN, makeProject, runCli } from '../support/cli.js'
import { filesHolding } from '../support/home-files.js'
import { sh, tmux } from '../support/tmux.js'

const exec = promisify(execFile)
const SESSION = 'greenhouse-diary'

let p: { dir: string; home: string }
let cache: string
let bashScript: string
let zshScript: string
let binDir: string

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: `${binDir}:${process.env.PATH}`,
  HOME: p.dir,
  MIRADOR_HOME: p.home,
  XDG_CACHE_HOME: cache,
  ...extra,
})

/** What bash offers for the command line `words`, the last being the word under the cursor. */
async function offered(words: string[], extra: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(' ')
  const script =
    `source "$1"; COMP_WORDS=(mirador ${quoted}); COMP_CWORD=${words.length}; ` +
    `_mirador_values; printf '%s\\n' "\${COMPREPLY[@]}"`
  const { stdout } = await exec('bash', ['-c', script, 'bash', bashScript], { cwd: p.dir, env: env(extra) })
  return stdout.split('\n').filter(Boolean)
}

beforeAll(async () => {
  p = makeProject({
    'chains/garden-plan.yaml': 'name: garden-plan\nstages:\n  a: { model: quick, prompt: "{{query}}" }\n',
    'models/manifest.yaml':
      'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n' +
      '  "qwen2.5:7b": { runtime: ollama, base: "qwen2.5:7b" }\n',
    'tools/weather.yaml': 'name: weather\n',
  })
  cache = path.join(p.dir, 'cache')
  binDir = path.join(p.dir, 'bin')
  mkdirSync(binDir)
  writeFileSync(path.join(binDir, 'mirador'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(path.join(binDir, 'mirador'), 0o755)
  const sessions = new SessionStore(p.home, await loadCipher({ home: p.home, env: {} }))
  await sessions.appendTurn(SESSION, { runId: 'r_1', query: 'seedlings?', answer: 'in March', at: 1, chain: 'single' })
  const r = await runCli(['autocomplete', 'bash'], { cwd: p.dir, env: env() })
  expect(r.code).toBe(0)
  expect(r.stdout).toContain('mirador autocomplete script bash')
  const functions = path.join(cache, 'mirador', 'autocomplete', 'functions')
  bashScript = path.join(functions, 'bash', 'mirador.bash')
  zshScript = path.join(functions, 'zsh', '_mirador')
}, 60_000)

describe('shell completion', () => {
  it('offers chain names after chain run / show / copy, matching what is typed', async () => {
    expect(await offered(['chain', 'run', ''])).toEqual(expect.arrayContaining(['garden-plan', 'quick-deep', 'single']))
    expect(await offered(['chain', 'run', 'gar'])).toEqual(['garden-plan'])
    expect(await offered(['chain', 'show', 'quick'])).toEqual(['quick-deep'])
    // a flag's value is not the chain: the chain is still the first argument
    expect(await offered(['chain', 'run', '--session', 'x', 'gar'])).toEqual(['garden-plan'])
    // the query is not completed with names
    expect(await offered(['chain', 'run', 'single', ''])).not.toContain('garden-plan')
  }, 30_000)

  it('offers model names after models load / unload / verify, tool names after tools run', async () => {
    expect((await offered(['models', 'load', ''])).sort()).toEqual(['quick', 'qwen2.5:7b'])
    expect(await offered(['models', 'unload', 'qw'])).toEqual(['qwen2.5:7b'])
    expect(await offered(['tools', 'run', ''])).toEqual(expect.arrayContaining(['calculate', 'weather']))
  }, 30_000)

  it('offers profile names after --profile and session names after --session and session show/rm', async () => {
    const profiles = ['balanced', 'performance', 'survival']
    expect(await offered(['energy', 'profile', '--profile', ''])).toEqual(profiles)
    expect(await offered(['chain', 'run', 'single', 'hi', '--profile', 'surv'])).toEqual(['survival'])
    expect(await offered(['chain', 'run', 'single', 'hi', '--session', ''])).toEqual([SESSION])
    expect(await offered(['session', 'show', 'green'])).toEqual([SESSION])
    expect(await offered(['session', 'rm', ''])).toEqual([SESSION])
  }, 30_000)

  it("hands everything else to the plugin's completion: commands, subcommands, flags", async () => {
    expect(await offered([''])).toEqual(expect.arrayContaining(['chain', 'models', 'serve', 'autocomplete']))
    expect(await offered(['chain', ''])).toEqual(expect.arrayContaining(['run', 'ls', 'show']))
    expect(await offered(['chain', 'run', '--se'])).toEqual(['--session'])
  }, 30_000)

  it('session names: opened with the memory key, never written in plaintext, none with memory off', async () => {
    expect(filesHolding(p.home, SESSION)).toEqual([])
    expect(filesHolding(cache, SESSION)).toEqual([])
    expect(await offered(['session', 'show', ''], { MIRADOR_MEMORY: 'off' })).toEqual([])
    // a home with no sessions: nothing offered, and no key created for the asking
    const fresh = makeProject({})
    expect(await offered(['session', 'show', ''], { MIRADOR_HOME: fresh.home })).toEqual([])
    expect(existsSync(path.join(fresh.home, 'keys'))).toBe(false)
    // sessions sealed under a passphrase the shell does not have: none offered, no key file made beside them
    const other = makeProject({})
    const sealed = new SessionStore(
      other.home,
      await loadCipher({ home: other.home, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' } }),
    )
    await sealed.appendTurn('locked', { runId: 'r_2', query: 'q', answer: 'a', at: 1, chain: 'single' })
    expect(await offered(['session', 'show', ''], { MIRADOR_HOME: other.home })).toEqual([])
    expect(existsSync(path.join(other.home, 'keys', 'memory.key'))).toBe(false)
    expect(
      await offered(['session', 'show', ''], { MIRADOR_HOME: other.home, MIRADOR_MEMORY_PASSPHRASE: 'pw' }),
    ).toEqual(['locked'])
  }, 30_000)

  it('__complete prints names one a line, and nothing but a status for an unknown kind', async () => {
    const chains = await runCli(['__complete', 'chain'], { cwd: p.dir, env: env() })
    expect(chains.code).toBe(0)
    expect(chains.stdout.split('\n')).toContain('garden-plan')
    const bad = await runCli(['__complete', 'nonsense'], { cwd: p.dir, env: env() })
    expect(bad.code).toBe(2)
    expect(bad.stdout + bad.stderr).toBe('')
  }, 30_000)

  it('writes a zsh script that falls back to the plugin and asks __complete for names', async () => {
    const zsh = readFileSync(zshScript, 'utf8')
    expect(zsh.startsWith('#compdef mirador')).toBe(true)
    expect(zsh).toContain('compdef _mirador_values mirador')
    expect(zsh).toContain('__complete $kind')
    expect(zsh).toMatch(/\n {2}_mirador "\$@"\n/)
    expect(zsh).not.toMatch(/\n_mirador\n/)
    // its word-walking, run by bash over zsh's words (1-based, CURRENT the word under the cursor)
    const kindFn = zsh.slice(zsh.indexOf('_mirador_command_paths='), zsh.indexOf('_mirador_values() {'))
    const kind = async (words: string[]) => {
      const arr = ['', 'mirador', ...words].map((w) => `'${w}'`).join(' ')
      const script = `${kindFn}\nwords=(${arr}); CURRENT=${words.length + 1}; _mirador_value_kind`
      return (await exec('bash', ['-c', script])).stdout.trim()
    }
    expect(await kind(['chain', 'run', ''])).toBe('chain')
    expect(await kind(['models', 'verify', ''])).toBe('model')
    expect(await kind(['ask', 'hi', '--session', ''])).toBe('session')
    expect(await kind(['chain', 'run', 'single', ''])).toBe('')
  }, 30_000)

  it('completes in a real interactive zsh: TAB on chain, session and command names', async () => {
    const zdot = path.join(p.dir, 'zdot')
    mkdirSync(zdot, { recursive: true })
    writeFileSync(
      path.join(zdot, '.zshrc'),
      `fpath=(${sh(path.dirname(zshScript))} $fpath)\n` +
        `autoload -Uz compinit && compinit -u -d ${sh(path.join(zdot, 'zcompdump'))}\n` +
        "PS1='zsh> '\n",
    )
    const vars = Object.entries(env({ ZDOTDIR: zdot, TERM: 'xterm' })).map(([k, v]) => `${k}=${sh(String(v))}`)
    const pane = tmux(p.dir, 120, 20, `env -i ${vars.join(' ')} zsh -i`)
    try {
      await pane.waitFor(/^zsh>/m)
      pane.keys('mirador chain run gar', 'Tab')
      await pane.waitFor(/zsh> mirador chain run garden-plan *$/m)
      pane.keys('C-u', 'mirador session show green', 'Tab')
      await pane.waitFor(new RegExp(`zsh> mirador session show ${SESSION} *$`, 'm'))
      // not a name: the plugin's own completion of subcommands
      pane.keys('C-u', 'mirador chain val', 'Tab')
      await pane.waitFor(/zsh> mirador chain validate *$/m)
    } finally {
      pane.close()
    }
  }, 60_000)
})
