/**
 * In a real terminal (a tmux pane), a run whose stages needed the embedded model while Ollama was
 * away, and found it not downloaded, asks once it is over whether to download it: yes downloads it
 * from the hub double with a progress bar, and the next run answers on it; no leaves things as
 * they were.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { BIN, makeProject, runCli } from '../support/cli.js'
import { FILE, hfServer, manifest } from '../support/hf-default.js'
import type { HfTestServer } from '../support/hf-server.js'
import { unusedPort } from '../support/ollama-server.js'
import { describeGguf } from '../support/test-gguf.js'
import { sh, tmux, type TmuxPane } from '../support/tmux.js'

const CHAIN = 'stages:\n  quick: { model: quick, prompt: "{{query}}", options: { max_tokens: 6 } }\n'
/** `mirador ARGS` in a tmux pane (test/support/tmux.ts); `EXIT=N` shows its status once it ends. */
function pane(dir: string, env: Record<string, string>, args: string[]): TmuxPane {
  const script = path.join(dir, 'run.sh')
  const exports = Object.entries({ PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', TERM: 'xterm', ...env })
  writeFileSync(
    script,
    [
      `export ${exports.map(([k, v]) => `${k}=${sh(v)}`).join(' ')}`,
      `${sh(process.execPath)} ${sh(BIN)} ${args.map(sh).join(' ')}`,
      'echo "EXIT=$?"',
    ].join('\n'),
  )
  const t = tmux(dir, 300, 40, `sh ${sh(script)}`)
  // a download and a llama.cpp load come before some screens
  return { ...t, waitFor: (pattern, timeoutMs = 30_000) => t.waitFor(pattern, timeoutMs) }
}

describeGguf('a terminal run offers the embedded model it lacked', () => {
  let hub: HfTestServer
  let closed: string
  beforeAll(async () => {
    hub = await hfServer()
    closed = `http://127.0.0.1:${await unusedPort()}`
  })
  afterAll(async () => {
    await hub.close()
  })
  const project = () => {
    const p = makeProject({ 'models/manifest.yaml': manifest(), 'chains/one.yaml': CHAIN })
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: closed, MIRADOR_HF_ENDPOINT: hub.url, MIRADOR_MEMORY: 'off' }
    return { ...p, env, file: path.join(p.home, 'models', FILE) }
  }

  it('yes: downloads it with a progress bar, and the next run answers on it', async () => {
    const p = project()
    const t = pane(p.dir, p.env, ['chain', 'run', 'one', 'Once upon a time'])
    try {
      const asked = await t.waitFor(
        /Download the embedded model "default" now \(test\/stories-GGUF, 1\.2 MB\)\? \[y\/N\]/,
      )
      expect(asked).toMatch(/mirador models pull default/)
      t.keys('y', 'Enter')
      const done = await t.waitFor(/EXIT=\d+/)
      expect(done).toMatch(/pulling default \[#{24}\] 100% \(1\.2\/1\.2 MB/)
      expect(done).toMatch(
        /✓ default downloaded to .*, sha256 verified\. Run the command again: it will answer on it\./,
      )
      // the run itself had failed: its status says so
      expect(done).toMatch(/EXIT=1/)
    } finally {
      t.close()
    }
    expect(existsSync(p.file)).toBe(true)
    const again = await runCli(['chain', 'run', 'one', 'Once upon a time', '--json'], {
      cwd: p.dir,
      env: p.env,
      timeoutMs: 60_000,
    })
    expect(again.code).toBe(0)
    expect(again.events.filter((e) => e.type === 'model-fallback')).toHaveLength(1)
  })

  it('no (or Enter): nothing is downloaded', async () => {
    const p = project()
    const before = hub.requests.length
    const t = pane(p.dir, p.env, ['chain', 'run', 'one', 'Once upon a time'])
    try {
      await t.waitFor(/\[y\/N\]/)
      t.keys('Enter')
      expect(await t.waitFor(/EXIT=\d+/)).toMatch(/EXIT=1/)
    } finally {
      t.close()
    }
    expect(existsSync(p.file)).toBe(false)
    expect(hub.requests.length).toBe(before)
  })

  it('in a chat: asked once after the turn, then the next question answers on it, and the chat goes on', async () => {
    const p = project()
    const t = pane(p.dir, p.env, ['chat', 'one'])
    try {
      await t.waitFor(/^one>/m)
      t.keys('Once upon a time', 'Enter')
      await t.waitFor(/Download the embedded model "default" now .*\[y\/N\]/)
      t.keys('y', 'Enter')
      await t.waitFor(/✓ default downloaded to .*, sha256 verified\. Ask again\./)
      t.keys('Once upon a time', 'Enter')
      const answered = await t.waitFor(/using the embedded model "default"[\s\S]*\none>/)
      // asked once a chat: the question does not come back
      expect(answered.match(/\[y\/N\]/g)).toHaveLength(1)
      t.keys('C-d')
      expect(await t.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/)
    } finally {
      t.close()
    }
    expect(existsSync(p.file)).toBe(true)
  })
})
