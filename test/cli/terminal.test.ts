/**
 * The live renderer in a real terminal: the CLI runs in a tmux pane (a real pseudo-terminal, with
 * its own tmux server on a socket of this test's), keys are sent as a user types them, and the
 * assertions read the screen tmux shows (`capture-pane`), not the bytes written.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { defaultReply, plannedTokens, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { BIN, makeProject } from '../support/cli.js'
import { pluginPackage } from '../support/plugin-api.js'
import { sh, tmux } from '../support/tmux.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
`
const QUICK_DEEP = `stages:
  quick: { model: quick, prompt: "Briefly: {{query}}" }
  deep: { model: deep, prompt: "Deeply: {{query}}" }
`
/** a plugin that writes straight to stderr while the stages stream, as careless plugins do */
const NOISY = `let tokens = 0
export default {
  name: 'Noisy', apiVersion: 1,
  apply(engine) {
    engine.hooks.event.tap('Noisy', (e) => {
      if (e.type === 'token' && ++tokens === 12) console.error('NOISE from a plugin')
    })
  },
}
`

let server: OllamaTestServer
beforeAll(async () => {
  // paced: a run streams for many seconds unless it is interrupted
  server = await startOllamaTestServer({ tokenDelayMs: 40, tokens: 300 })
})
afterAll(async () => {
  await server.close()
})

/** Runs `mirador ARGS` in a pane; the pane stays (and says how it ended) after the CLI exits. */
function mirador(
  args: string[],
  opts: { width: number; height: number; files?: Record<string, string>; approve?: string[] },
) {
  const p = makeProject({ 'chains/quick-deep.yaml': QUICK_DEEP, 'models/manifest.yaml': MANIFEST, ...opts.files })
  // project plugins approved first, as a user does with `mirador plugins approve PATH`
  for (const rel of opts.approve ?? [])
    execFileSync(process.execPath, [BIN, 'plugins', 'approve', rel], {
      cwd: p.dir,
      env: { ...process.env, MIRADOR_HOME: p.home },
    })
  const script = path.join(p.dir, 'run.sh')
  writeFileSync(
    script,
    [
      // Ctrl-C goes to the whole foreground process group: the shell outlives it to say how the CLI ended
      'trap : INT',
      `export PATH=${sh(process.env.PATH ?? '')} HOME=${sh(p.dir)} MIRADOR_HOME=${sh(p.home)}`,
      `export OLLAMA_HOST=${sh(server.url)} MIRADOR_MEMORY=off NO_COLOR=1 TERM=xterm`,
      `${sh(process.execPath)} ${sh(BIN)} ${args.map(sh).join(' ')}`,
      'echo "EXIT=$?"',
    ].join('\n'),
  )
  return { ...tmux(p.dir, opts.width, opts.height, `sh ${sh(script)}`), ...p }
}

describe('the live renderer in a terminal', () => {
  it('Ctrl-C keeps what the stages streamed side by side; a plugin writing to stderr lands above', async () => {
    const t = mirador(['chain', 'run', 'quick-deep', 'hello there'], {
      width: 100,
      height: 30,
      files: {
        'plugins/noisy.js': NOISY,
        'plugins/package.json': pluginPackage({ hooks: ['event'] }),
        'mirador.config.yaml': 'plugins: [{ name: ./plugins/noisy.js, trusted: true }]\n',
      },
      approve: ['plugins'],
    })
    try {
      // both stages streaming, in two columns of one region
      const live = await t.waitFor(/▸ (quick|deep) .*│ ▸ (quick|deep) .*\n.*│.*\n.*│.*\n.*│/)
      expect(live).toMatch(/^NOISE from a plugin$/m)
      // long enough for the text to take several rows
      expect(await t.waitFor(/▸ quick llama3\.2:1b · [3-9]\d tokens/)).toContain('│')
      t.keys('C-c')
      const after = await t.waitFor(/EXIT=\d+/)
      expect(after).toMatch(/EXIT=130/)
      const lines = after.split('\n').map((l) => l.trimEnd())
      // each stage's partial text stays, under its header; the cause both share is said once
      expect(lines.filter((l) => /^✗ \[(quick|deep)\] ABORTED: the run was cancelled$/.test(l))).toHaveLength(1)
      for (const [stage, model] of [
        ['quick', 'llama3.2:1b'],
        ['deep', 'qwen2.5:7b'],
      ]) {
        const at = lines.findIndex((l) => l.startsWith(`■ ${stage} ${model} · `))
        expect(lines[at]).toMatch(/ · \d+ tokens · interrupted$/)
        expect(lines[at + 1]).toMatch(/^\S.* You asked about ".*hello there"\. The answer/)
      }
      // the plugin's line is whole, above everything the region left behind
      expect(lines.filter((l) => l.includes('NOISE'))).toEqual(['NOISE from a plugin'])
      expect(after).toMatch(/✗ no stage produced an answer · models .* · \d+ tokens/)
      expect(after).not.toMatch(/\bat .*\.js:\d+/) // no stack trace
      expect(after).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/) // no spinner left behind
      // what was printed for good is wrapped at word boundaries: joined again with spaces, the rows
      // are exactly what the model streamed
      for (const [stage, model, prompt] of [
        ['quick', 'llama3.2:1b', 'Briefly: hello there'],
        ['deep', 'qwen2.5:7b', 'Deeply: hello there'],
      ]) {
        const at = lines.findIndex((l) => l.startsWith(`■ ${stage} `))
        const rows = lines.slice(at + 1, at + 1 + lines.slice(at + 1).findIndex((l) => l.startsWith('✗')))
        expect(rows.length).toBeGreaterThan(1)
        for (const row of rows) expect(row.length).toBeLessThanOrEqual(98)
        const streamed = plannedTokens(defaultReply(model!, prompt!), { tokens: 300 }).tokens.join('')
        expect(streamed.startsWith(rows.join(' '))).toBe(true)
      }
    } finally {
      t.close()
    }
  })

  it('a narrow terminal stacks the running stages', async () => {
    const t = mirador(['chain', 'run', 'quick-deep', 'hello there'], { width: 50, height: 30 })
    try {
      const screen = await t.waitFor(/▸ quick[^\n]*\n( {2}[^\n]*\n){3}▸ deep|▸ deep[^\n]*\n( {2}[^\n]*\n){3}▸ quick/)
      expect(screen).not.toContain('│')
      for (const line of screen.split('\n')) expect(line.trimEnd().length).toBeLessThanOrEqual(48)
      t.keys('C-c')
      await t.waitFor(/EXIT=130/)
    } finally {
      t.close()
    }
  })
})

describe("a project's plugin not approved yet, in a terminal", () => {
  // a plugin that leaves a mark when its code runs
  const MARK = `import { writeFileSync } from 'node:fs'
export default { name: 'Mark', apiVersion: 1, apply() { writeFileSync(new URL('./ran', import.meta.url), 'x') } }
`
  const files = {
    'plugins/mark.js': MARK,
    'plugins/package.json': pluginPackage({ hooks: [] }, { name: 'mark-plugin', version: '0.1.0' }),
    'mirador.config.yaml': 'plugins: [{ name: ./plugins/mark.js, trusted: true }]\n',
  }
  const ran = (dir: string) => {
    try {
      return readFileSync(path.join(dir, 'plugins', 'ran'), 'utf8') === 'x'
    } catch {
      return false
    }
  }

  it('the run asks before any of its code runs; N stops it before any stage, naming the command', async () => {
    const t = mirador(['chain', 'run', 'quick-deep', 'hi'], { width: 120, height: 30, files })
    try {
      const asked = await t.waitFor(/\[y\/N\]/)
      expect(asked).toContain('names the plugin mark-plugin 0.1.0')
      expect(asked).toMatch(/hooks: none; permissions: none; trusted: true/)
      expect(ran(t.dir)).toBe(false)
      t.keys('n', 'Enter')
      const after = await t.waitFor(/EXIT=\d+/)
      expect(after).toMatch(/EXIT=1/)
      expect(after.replace(/\s*\n\s*/g, ' ')).toContain('PLUGIN_UNAPPROVED')
      expect(after.replace(/\n/g, '')).toContain('mirador plugins approve')
      expect(ran(t.dir)).toBe(false)
    } finally {
      t.close()
    }
  })

  it('y approves it (its path and hash, nothing else) and the run goes on', async () => {
    const t = mirador(['chain', 'run', 'quick-deep', 'hi'], { width: 120, height: 30, files })
    try {
      await t.waitFor(/\[y\/N\]/)
      t.keys('y', 'Enter')
      await t.waitFor(/▸ quick llama3\.2:1b · \d+ tokens/)
      expect(ran(t.dir)).toBe(true)
      t.keys('C-c')
      expect(await t.waitFor(/EXIT=\d+/)).toMatch(/EXIT=130/)
      const approved = JSON.parse(readFileSync(path.join(t.home, 'plugins', 'approved.json'), 'utf8'))
      expect(approved).toEqual({
        version: 1,
        approved: { [path.join(t.dir, 'plugins')]: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      })
    } finally {
      t.close()
    }
  })
})
