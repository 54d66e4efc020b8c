/**
 * `mirador chat` with lines piped on standard input: each line a turn (a normal run of the chain on
 * the Ollama test double) or a slash command, answered in order; the chat ends with the input.
 * The terminal side (prompt, Ctrl-C, Ctrl-D, history) is in chat-terminal.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { filesHolding } from '../support/home-files.js'
import { startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

const FILES = {
  'chains/single.yaml': 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{memory}}\\n{{query}}" }\n',
  'chains/other.yaml': 'stages:\n  other: { model: "qwen2.5:7b", prompt: "Other: {{query}}" }\n',
}

function project(memory: 'on' | 'off') {
  const p = makeProject(FILES)
  if (memory === 'on') homes.push(p.home)
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: memory } }
}

/** the chat requests the test server got since `from`, as (model, last message) */
const chats = (from: number) =>
  server.requests
    .slice(from)
    .filter((r) => r.path === '/api/chat' && r.body?.messages?.length)
    .map((r) => ({ model: String(r.body.model), prompt: String(r.body.messages.at(-1).content) }))

const chat = (args: string[], p: { dir: string; env: Record<string, string> }, lines: string[], timeoutMs = 30_000) =>
  runCli(['chat', ...args], { cwd: p.dir, env: p.env, input: lines.join('\n') + '\n', timeoutMs })

describe('mirador chat, lines piped in', () => {
  it('answers each line in turn; the second turn sees the first; slash commands; /save; /chain', async () => {
    const p = project('off')
    const from = server.requests.length
    const r = await chat(['single'], p, [
      '/rate 4',
      'Let us plan the garden',
      'Tomatoes or peppers?',
      '/bogus',
      '/explain',
      '/memory',
      '/chain nowhere',
      '/chain other',
      'And for the shade?',
      '//slash at the start',
      '/save chat.md',
      '/help',
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^Chat with single · memory off: nothing is kept · \/help lists the commands/m)
    // every error is one line, and the chat goes on after it
    expect(r.stderr).toContain('✗ USAGE: there is no answer yet: ask something first\n')
    expect(r.stderr).toContain('✗ USAGE: unknown command /bogus: /help lists them\n')
    expect(r.stderr).toMatch(/^✗ CONFIG_NOT_FOUND: no chain named "nowhere" .*Known chains: .*other.*\n/m)
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/)

    const sent = chats(from)
    expect(sent.map((s) => s.model)).toEqual(['llama3.2:1b', 'llama3.2:1b', 'qwen2.5:7b', 'qwen2.5:7b'])
    // memory off: the conversation so far, from the process only, in {{memory}}
    expect(sent[0]!.prompt).toBe('\nLet us plan the garden')
    expect(sent[1]!.prompt).toMatch(
      /^Earlier in this conversation:\nQ: Let us plan the garden\nA: .+\nTomatoes or peppers\?$/s,
    )
    expect(sent[2]!.prompt).toBe('Other: And for the shade?')
    expect(sent[3]!.prompt).toBe('Other: /slash at the start')

    // each turn is a whole run, as chain run draws it without a terminal
    expect(r.stdout.match(/^▸ single \(r_[0-9a-z]+\)$/gm)).toHaveLength(2)
    expect(r.stdout.match(/^▸ other \(r_[0-9a-z]+\)$/gm)).toHaveLength(2)
    expect(r.stdout.match(/^✓ answer from (answer|other) /gm)).toHaveLength(4)
    expect(r.stdout).toContain('single answered because you named it')
    expect(r.stdout).toMatch(/the answer is stage answer's, confidence \d+ %/)
    expect(r.stdout).toContain('Memory is off: nothing is recalled or kept')
    expect(r.stdout).toContain('✓ the next answers come from other')
    expect(r.stdout).toMatch(/^ {2}\/save FILE +Save the chat so far as a Markdown transcript\.$/m)

    const md = readFileSync(path.join(p.dir, 'chat.md'), 'utf8')
    expect(r.stdout).toContain(`✓ saved 4 turn(s) to ${path.join(p.dir, 'chat.md')}`)
    const headings = md.match(/^## .*$/gm)
    expect(headings).toEqual([
      '## Let us plan the garden',
      '## Tomatoes or peppers?',
      '## And for the shade?',
      '## /slash at the start',
    ])
    expect(md).toMatch(/^# Mirador chat\n/)
    expect(md).toMatch(/## Tomatoes or peppers\?\n\n\S.*You asked about ".*peppers"/)
    expect(md).toMatch(/<sub>other · r_[0-9a-z]+<\/sub>/)
  })

  it('with memory on: a session named at the start, kept; /memory, /rate, /forget last; nothing readable', async () => {
    const p = project('on')
    const from = server.requests.length
    const r = await chat(
      ['single'],
      p,
      ['My dentist is Dr Quillfeather', 'Who is my dentist?', '/memory', '/rate 5', '/forget last'],
      90_000,
    )
    expect(r.code).toBe(0)
    const session = /· session (chat-\d{8}-\d{4}-[0-9a-f]{4}) ·/.exec(r.stderr)?.[1]
    expect(session).toBeDefined()
    // the session gives the second turn the first, verbatim
    const sent = chats(from)
    expect(sent[1]!.prompt).toMatch(/Q: My dentist is Dr Quillfeather\nA: /)
    expect(r.stdout).toMatch(/\[memory\] answer: recalled m_[0-9a-z]+ \(\d\.\d\d\) · session chat-/)
    // the injected text only on /memory, not while the turn streamed
    const last = r.stdout.lastIndexOf('✓ answer from')
    expect(r.stdout.slice(0, last)).not.toMatch(/^ {4}Q: My dentist/m)
    expect(r.stdout.slice(last)).toMatch(/^ {4}Q: My dentist is Dr Quillfeather$/m)
    expect(r.stdout).toMatch(/✓ rated r_[0-9a-z]+ \(single\) 5: weight for "general"/)
    expect(r.stdout).toMatch(/✓ forgot "Who is my dentist\?": .*1 memories, 1 session turns/)

    const ls = JSON.parse((await runCli(['session', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(ls).toEqual([expect.objectContaining({ name: session, turns: 1 })])
    // the question, the answer and the session's name are sealed wherever they are kept
    for (const needle of ['Quillfeather', 'dentist', session!]) expect(filesHolding(p.home, needle)).toEqual([])
  })

  it('--json: NDJSON events per turn, ending in done; the chat goes on when the model is unreachable', async () => {
    const p = project('off')
    const env = { ...p.env, OLLAMA_HOST: `http://127.0.0.1:${await unusedPort()}` }
    const r = await chat(['single', '--json'], { ...p, env }, ['first', '/help', '/chain other', 'second'])
    expect(r.code).toBe(0)
    const done = r.events.filter((e) => e.type === 'done')
    expect(done.map((e) => e.ok)).toEqual([false, false])
    expect(r.events.filter((e) => e.type === 'ack').map((e) => e.chain)).toEqual(['single', 'other'])
    expect(r.events.filter((e) => e.type === 'error').map((e) => e.code)).toContain('RUNTIME_UNREACHABLE')
    // stdout holds events only; the chat's own lines went to stderr
    for (const line of r.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow()
    expect(r.stderr).toContain('/rate 1..5')
    expect(r.stderr).toContain('✓ the next answers come from other')
  })

  it('no CHAIN: the one config names; /chain auto: the learner chooses, /explain says why', async () => {
    const p = project('off')
    writeFileSync(path.join(p.dir, 'mirador.config.yaml'), 'chat: { chain: other }\n')
    const r = await chat([], p, ['hello', '/chain auto', 'Plan my garden', '/explain'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^Chat with other · /m)
    expect(r.stdout).toMatch(/^▸ other \(r_/m)
    expect(r.stdout).toMatch(/^▸ auto \(r_/m)
    // the catalog holds the shipped chains too: the draw may pick any candidate
    const chosen = /^\[route\] chose ([\w-]+) for a "\w+" question$/m.exec(r.stdout)?.[1]
    expect(chosen).toBeDefined()
    // /explain gives the candidates the route event carried, with their weights, the chosen one among them
    expect(r.stdout).toMatch(new RegExp(`^chose ${chosen} for a "\\w+" question: `, 'm'))
    for (const name of ['single', 'other', chosen])
      expect(r.stdout).toMatch(new RegExp(`^ {4}${name} +weight \\d`, 'm'))
  })

  it('an unknown chain at the start fails at once, naming what exists', async () => {
    const p = project('off')
    const r = await chat(['nowhere'], p, ['hello'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^✗ CONFIG_NOT_FOUND: no chain named "nowhere"/m)
  })
})
