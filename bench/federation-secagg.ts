/**
 * Secure aggregation cost: one round of 50 simulated members on this machine, each with a vector of
 * 5 query types × 4 chains = 20 values, 5 of them dropping out after committing (so the aggregator
 * also rebuilds dropped mask keys and strips their pairwise masks). Reports the time of each phase
 * for all members together, the aggregation alone (goal ≤ 10 s), and the size of each file a member
 * writes (commit, masked vector, reveal) as JSON. Checks the opened sum before reporting.
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/federation-secagg.ts [MEMBERS]
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { decodeVector, encodeVector } from '../src/plugins/federation/secagg/index.js'
import { makeMembers, runRound, type PhaseTimes } from '../test/support/secagg-round.js'

export interface SecaggBench {
  members: number
  length: number
  dropped: number
  threshold: number
  ms: PhaseTimes
  /** bytes of one member's JSON file of each kind */
  bytes: { commit: number; masked: number; reveal: number }
}

export function benchSecagg(members = 50, length = 20, dropouts = 5): SecaggBench {
  const all = makeMembers(members)
  const threshold = Math.floor(members / 2) + 1
  const inputs = new Map(all.map((m, k) => [m.id, Array.from({ length }, (_, i) => ((k + i) % 9) + 0.25)]))
  const dropped = all.slice(0, dropouts).map((m) => m.id)
  const files = runRound(all, inputs, { threshold, dropped })
  const expected = new Uint32Array(length)
  for (const m of all.slice(dropouts)) {
    encodeVector(inputs.get(m.id)!, members).forEach((u, i) => (expected[i] = (expected[i]! + u) >>> 0))
  }
  if (JSON.stringify(files.result.sum) !== JSON.stringify(decodeVector(expected))) {
    throw new Error('the opened sum is not the sum of the survivors')
  }
  const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v))
  return {
    members,
    length,
    dropped: dropouts,
    threshold,
    ms: files.ms,
    bytes: { commit: size(files.commits[0]), masked: size(files.masked[0]), reveal: size(files.reveals[0]) },
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const r = benchSecagg(Number(process.argv[2] ?? 50))
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  console.log(
    `secure aggregation, ${r.members} members (t = ${r.threshold}, ${r.dropped} dropped), ${r.length} values:\n` +
      `  aggregate ${f(r.ms.aggregate)} (goal ≤ 10 s); all members: commit ${f(r.ms.commit)}, ` +
      `mask ${f(r.ms.mask)}, reveal ${f(r.ms.reveal)}\n` +
      `  per member file: commit ${r.bytes.commit} B, masked vector ${r.bytes.masked} B, reveal ${r.bytes.reveal} B`,
  )
}
