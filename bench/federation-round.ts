/**
 * A whole federation round through the library (not the CLI), as a group of 50 members on one
 * machine would run it on a folder exchange: each member its own $MIRADOR_HOME and keys, a week of
 * ratings over 5 query types × 4 chains, 5 members dropping after they committed. Times each phase
 * for all members together (commit: every `contribute`; mask: every survivor's `pull` posting its
 * bundle; close: `aggregate --now`; reveal: every survivor's `pull` revealing, the t-th opening the
 * sum), the aggregation alone (read and verify every file of the round, open the sum, sign the
 * result: goal ≤ 10 s) and `verify`; and the size of one member's files. Checks the opened total
 * against the survivors' noised vectors before reporting.
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/federation-round.ts [MEMBERS]
 */
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeResult } from '../src/plugins/federation/result.js'
import {
  aggregateRound,
  contribute,
  pull,
  readRound,
  readState,
  verifyExchange,
} from '../src/plugins/federation/round/index.js'
import { openSum } from '../src/plugins/federation/round/opening.js'
import { CHAINS, QUERY_TYPES, makeGroup, ratings } from '../test/support/federation-round.js'

export interface RoundBench {
  members: number
  dropped: number
  threshold: number
  length: number
  ms: { commit: number; mask: number; close: number; reveal: number; aggregate: number; verify: number }
  /** bytes of one member's file of each kind */
  bytes: { commit: number; bundle: number; reveal: number; result: number }
}

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

export async function benchRound(members = 50, dropouts = 5): Promise<RoundBench> {
  const g = await makeGroup(members)
  try {
    const live = g.members.slice(dropouts)
    const records = (k: number) =>
      ratings(QUERY_TYPES.map((t, i) => [t, CHAINS[(i + k) % CHAINS.length]!, 3 + ((k + i) % 4), (k * i) % 3] as const))
    // the dropped members come first, so the last contributor (who closes the commit phase) survives
    const ms = {
      commit: await time(async () => {
        for (const [k, m] of g.members.entries())
          await contribute(m.ctx, { records: records(k), accountant: m.accountant })
      }),
      mask: await time(async () => {
        for (const m of live) await pull(m.ctx)
      }),
      close: await time(() => aggregateRound(live[0]!.ctx, '0001', { force: true })),
      reveal: await time(async () => {
        for (const m of live) await pull(m.ctx)
      }),
      aggregate: 0,
      verify: 0,
    }
    const ctx = live[0]!.ctx
    ms.aggregate = await time(async () => {
      const view = await readRound(ctx.exchange, g.group, '0001')
      const opened = openSum(g.group, view)
      makeResult(
        { group: 'garden-club', round: '0001', aggregator: ctx.member, ...opened },
        ctx.keys.signing.privateKey,
      )
    })
    let problems = 0
    ms.verify = await time(async () => (problems = (await verifyExchange(ctx.exchange, g.group)).problems.length))
    if (problems) throw new Error(`verify found ${problems} problems in the round`)

    const view = await readRound(ctx.exchange, g.group, '0001')
    const total = view.result?.total as number[] | undefined
    const states = await Promise.all(live.map((m) => readState(m.home, 'garden-club', '0001')))
    const expected = states[0]!.noised.map((_, k) => states.reduce((s, st) => s + st!.noised[k]!, 0))
    if (!total || total.some((x, k) => Math.abs(x - expected[k]!) > (live.length * 0.5) / 4096 + 1e-9))
      throw new Error("the opened total is not the sum of the survivors' noised vectors")

    const dir = path.join(g.exchangeDir, 'rounds', '0001')
    const names = await readdir(dir)
    const size = async (prefix: string) => (await stat(path.join(dir, names.find((n) => n.startsWith(prefix))!))).size
    return {
      members,
      dropped: dropouts,
      threshold: view.open!.body.t,
      length: total.length,
      ms,
      bytes: {
        commit: await size('commit-'),
        bundle: await size('bundle-'),
        reveal: await size('reveal-'),
        result: await size('result.json'),
      },
    }
  } finally {
    await g.cleanup()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const r = await benchRound(Number(process.argv[2] ?? 50))
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  console.log(
    `federation round, ${r.members} members (t = ${r.threshold}, ${r.dropped} dropped), ${r.length} values, ` +
      'folder exchange:\n' +
      `  aggregation ${f(r.ms.aggregate)} (goal ≤ 10 s); verify ${f(r.ms.verify)}\n` +
      `  all members: commit ${f(r.ms.commit)}, mask ${f(r.ms.mask)}, close ${f(r.ms.close)}, ` +
      `reveal + open ${f(r.ms.reveal)}\n` +
      `  files: commit ${r.bytes.commit} B, bundle ${r.bytes.bundle} B, reveal ${r.bytes.reveal} B, ` +
      `result ${r.bytes.result} B`,
  )
}
