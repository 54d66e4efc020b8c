/**
 * The learner keeps nothing readable: after runs with --session and ratings (and an old journal
 * that held text in the clear), no file under $MIRADOR_HOME holds a query's text or a session's
 * name; `session rm` and `memory forget --all` reach the learner's records, and ratings survive.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { loadCipher } from '../../src/lib/crypto.js'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { Journal } from '../../src/plugins/learner/journal.js'
import type { RunEntry } from '../../src/plugins/learner/types.js'
import { filesHolding } from '../support/home-files.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
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

const PLANNER = `name: planner
triggers: [plan]
stages:
  answer: { model: "llama3.2:1b", prompt: "{{memory}} Plan: {{query}}" }
`

const SECRETS = {
  query: 'Zanzibar quokka',
  session: 'trip-xq93',
  oldQuery: 'Okonkwo',
  oldSession: 'old-sess-77',
}
/** each word of the queries, and the session names, looked for on their own */
const NEEDLES = ['Zanzibar', 'quokka', 'colonies', 'festival', SECRETS.session, SECRETS.oldQuery, SECRETS.oldSession]

describe('the learner keeps nothing readable', () => {
  it('no file under $MIRADOR_HOME holds a query or a session name; forget reaches the learner', async () => {
    const p = makeProject({ 'chains/planner.yaml': PLANNER })
    homes.push(p.home)
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
    // a journal from before sealing: a query and a session name in the clear, and a rating
    mkdirSync(path.join(p.home, 'learner'), { recursive: true, mode: 0o700 })
    writeFileSync(
      path.join(p.home, 'learner', 'journal.jsonl'),
      [
        JSON.stringify({
          kind: 'run',
          runId: 'r_old1',
          chain: 'planner',
          type: 'planner',
          query: `plan a visit to my dentist Dr ${SECRETS.oldQuery}`,
          session: SECRETS.oldSession,
          at: Date.now() - 60_000,
        }),
        JSON.stringify({
          kind: 'rating',
          runId: 'r_old1',
          chain: 'planner',
          type: 'planner',
          rating: 5,
          at: Date.now(),
        }),
        '',
      ].join('\n'),
      { mode: 0o600 },
    )

    const runIds: string[] = []
    for (const q of [`Plan the ${SECRETS.query} festival`, `Where do ${SECRETS.query} colonies nest?`]) {
      const r = await runCli(['ask', q, '--session', SECRETS.session, '--json'], { cwd: p.dir, env, timeoutMs: 60_000 })
      expect(r.code).toBe(0)
      runIds.push(r.events.find((e) => e.type === 'ack')!.runId as string)
    }
    const other = await runCli(['chain', 'run', 'planner', 'plan my week', '--json'], { cwd: p.dir, env })
    const otherId = other.events.find((e) => e.type === 'ack')!.runId as string
    for (const [id, value] of [
      [runIds[0]!, '4'],
      [runIds[1]!, '2'],
      [runIds[1]!, '5'],
      [otherId, '3'],
    ] as const) {
      expect((await runCli(['rate', id, value], { cwd: p.dir, env })).code).toBe(0)
    }

    for (const needle of NEEDLES) expect([needle, filesHolding(p.home, needle)]).toEqual([needle, []])
    // the check can fail: the session's turns, sealed, are there, and readable through Mirador
    expect((await runCli(['session', 'show', SECRETS.session], { cwd: p.dir, env })).stdout).toMatch(/quokka/)

    const journal = new Journal(p.home, { key: () => loadCipher({ home: p.home, env: {} }) })
    const runs = async () => (await journal.read()).filter((e): e is RunEntry => e.kind === 'run')
    const before = await runs()
    expect(before.map((r) => r.runId)).toEqual(['r_old1', ...runIds, otherId])
    expect(before.every((r) => r.vector?.embedder === 'use-lite/512')).toBe(true)
    const sessionOf = (id: string) => before.find((r) => r.runId === id)!.session
    expect(sessionOf(runIds[0]!)).toMatch(/^[0-9a-f]{64}$/)
    expect(sessionOf(runIds[1]!)).toBe(sessionOf(runIds[0]!))
    expect(sessionOf(otherId)).toBeUndefined()
    const report = async () =>
      JSON.parse((await runCli(['learn', 'report', '--json'], { cwd: p.dir, env })).stdout) as {
        type: string
        chains: { chain: string; ratings: number }[]
      }[]
    const ratings = (r: Awaited<ReturnType<typeof report>>) =>
      r.flatMap((t) => t.chains).reduce((a, c) => a + c.ratings, 0)
    expect(ratings(await report())).toBe(4) // r_old1, the two session runs (one rated twice), the other run

    // session rm reaches the learner: the session's runs lose their embedding and session hash
    const rm = await runCli(['session', 'rm', SECRETS.session, '--yes'], { cwd: p.dir, env })
    expect(rm.stdout).toMatch(/2 learner records/)
    const afterRm = await runs()
    for (const id of runIds) {
      const r = afterRm.find((x) => x.runId === id)!
      expect(r.session).toBeUndefined()
      expect(r.vector).toBeUndefined()
      expect(r.chain).toBe(before.find((x) => x.runId === id)!.chain) // it can still be rated
    }
    expect(afterRm.find((x) => x.runId === otherId)?.vector).toBeDefined()
    // the old session, forgotten by its name, is reached through its sealed hash
    expect((await runCli(['session', 'rm', SECRETS.oldSession, '--yes'], { cwd: p.dir, env })).stdout).toMatch(
      /1 learner record\b/,
    )

    // forget --all: no run record is left; the ratings, and what they taught, stay
    const all = await runCli(['memory', 'forget', '--all', '--yes'], { cwd: p.dir, env })
    expect(all.stdout).toMatch(/4 learner records/)
    expect(await runs()).toEqual([])
    expect(ratings(await report())).toBe(4)
    const rate = await runCli(['rate', otherId, '5'], { cwd: p.dir, env })
    expect(rate.code).toBe(2)
    expect(rate.stderr).toMatch(/no recorded run/)
  }, 180_000)
})
