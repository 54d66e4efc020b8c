/**
 * `mirador chat` in a real terminal (a tmux pane, test/support/tmux.ts): typing at the prompt,
 * Ctrl-C while an answer streams (it stops, the chat stays), Ctrl-D to leave, and the up arrow
 * recalling a line typed in an earlier chat of the same $MIRADOR_HOME, whose history is sealed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { filesHolding } from '../support/home-files.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { BIN, makeProject } from '../support/cli.js'
import { sh, tmux } from '../support/tmux.js'

const SINGLE = 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{memory}}\\n{{query}}" }\n'

let paced: OllamaTestServer
let quick: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  // paced: an answer streams for many seconds unless it is interrupted
  paced = await startOllamaTestServer({ tokenDelayMs: 40, tokens: 300 })
  quick = await startOllamaTestServer()
})
afterAll(async () => {
  await paced.close()
  await quick.close()
  for (const h of homes) await stopChromaServer(h)
})

/** Runs `mirador chat ARGS` in a pane of `p.dir`; the shell says its pid first and how the CLI ended last. */
function chat(p: { dir: string; home: string }, args: string[], env: { server: OllamaTestServer; memory: string }) {
  const script = path.join(p.dir, 'chat.sh')
  writeFileSync(
    script,
    [
      // Ctrl-C goes to the whole foreground process group: the shell outlives it to say how the CLI ended
      'trap : INT',
      'echo "SHELL=$$"',
      `export PATH=${sh(process.env.PATH ?? '')} HOME=${sh(p.dir)} MIRADOR_HOME=${sh(p.home)}`,
      `export OLLAMA_HOST=${sh(env.server.url)} MIRADOR_MEMORY=${env.memory} MIRADOR_CHROMA_IDLE_MS=60000`,
      'export NO_COLOR=1 TERM=xterm',
      `${sh(process.execPath)} ${sh(BIN)} chat ${args.map(sh).join(' ')}`,
      'echo "EXIT=$?"',
    ].join('\n'),
  )
  return tmux(p.dir, 100, 30, `sh ${sh(script)}`)
}

/** the processes whose parent is `pid` (read from /proc) */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .flatMap((n) => {
      try {
        // the command may hold spaces and parentheses: the fields after its closing one
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        return ppid === pid ? [Number(n)] : []
      } catch {
        return []
      }
    })
}

describe('mirador chat in a terminal', () => {
  it('Ctrl-C stops the answer streaming and the prompt comes back; Ctrl-D leaves; no process is left', async () => {
    const p = makeProject({ 'chains/single.yaml': SINGLE })
    const t = chat(p, ['single'], { server: paced, memory: 'off' })
    try {
      const start = await t.waitFor(/^single>\s*$/m)
      expect(start).toMatch(/^Chat with single · memory off: nothing is kept · \/help lists the commands/m)
      const shell = Number(/SHELL=(\d+)/.exec(start)![1])
      t.keys('hello there', 'Enter')
      await t.waitFor(/▸ answer llama3\.2:1b · [2-9]\d tokens/)
      t.keys('C-c')
      const stopped = await t.waitFor(/interrupted[\s\S]*\nsingle>\s*$/m)
      expect(stopped).toMatch(/^■ answer llama3\.2:1b · \d+ tokens · interrupted$/m)
      expect(stopped.match(/ABORTED: the run was cancelled/g)).toHaveLength(1)
      expect(stopped).not.toMatch(/EXIT=/)
      expect(stopped).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/) // no spinner left behind

      // the chat goes on: a command, and Ctrl-C at the prompt only clears the line
      t.keys('/chain', 'Enter')
      await t.waitFor(/^Chain: single\. Chains: .*single.*auto$/m)
      t.keys('half a question', 'C-c')
      await t.waitFor(/^single> half a question\^C\n\(Ctrl-D or \/exit leaves\)\nsingle>\s*$/m)
      t.keys('C-d')
      const after = await t.waitFor(/EXIT=\d+/)
      expect(after).toMatch(/^EXIT=0$/m)
      expect(childrenOf(shell)).toEqual([])
    } finally {
      t.close()
    }
  })

  it('the up arrow recalls a line from an earlier chat of the same home; the history is sealed', async () => {
    const p = makeProject({ 'chains/single.yaml': SINGLE })
    homes.push(p.home)
    const first = chat(p, ['single'], { server: quick, memory: 'on' })
    let session: string
    try {
      const start = await first.waitFor(/^single>\s*$/m)
      session = /· session (chat-[\w-]+) ·/.exec(start)![1]!
      first.keys('Where should the quince tree go', 'Enter')
      await first.waitFor(/✓ answer from answer[\s\S]*\nsingle>\s*$/m, 60_000)
      first.keys('/exit', 'Enter')
      await first.waitFor(/^EXIT=0$/m)
    } finally {
      first.close()
    }
    expect(existsSync(path.join(p.home, 'chat', 'history'))).toBe(true)
    // what was typed, what was answered and the session's name: nowhere readable
    for (const needle of ['quince', session]) expect(filesHolding(p.home, needle)).toEqual([])

    const second = chat(p, ['single'], { server: quick, memory: 'on' })
    try {
      await second.waitFor(/^single>\s*$/m)
      second.keys('Up')
      await second.waitFor(/^single> \/exit$/m)
      second.keys('Up')
      await second.waitFor(/^single> Where should the quince tree go$/m)
      second.keys('C-u', 'C-d')
      await second.waitFor(/^EXIT=0$/m)
    } finally {
      second.close()
    }
  })
})
