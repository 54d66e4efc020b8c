/**
 * A rater in its own process, for the learner's rewrite tests (test/learner/rewrite-process.test.ts):
 *
 *   node --import ./test/support/ts-loader.mjs test/support/learner-rater.ts inc  FILE HOME TYPE N DELTA
 *   node --import ./test/support/ts-loader.mjs test/support/learner-rater.ts loop FILE HOME TYPE
 *
 * `inc` applies N updates w → w + DELTA to weights.TYPE (counter-like: a lost update shows in the
 * final value) and prints `done N`. `loop` rewrites weights.TYPE forever, alternating between
 * values, plus a second type it adds and removes by alternating values, printing `ready` after
 * the first rewrite; the test kills it with SIGKILL at random moments.
 */
import { updateChainWeight } from '../../src/plugins/learner/rewrite.js'

const [mode, file, home, type, a, b] = process.argv.slice(2)
if (!mode || !file || !home || !type) {
  process.stderr.write('usage: learner-rater.ts inc|loop FILE HOME TYPE [N DELTA]\n')
  process.exit(2)
}

if (mode === 'inc') {
  const n = Number(a)
  const delta = Number(b)
  for (let i = 0; i < n; i++) await updateChainWeight(file, type, (w) => (w ?? 0) + delta, { home })
  process.stdout.write(`done ${n}\n`)
} else if (mode === 'loop') {
  const values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
  for (let i = 0; ; i++) {
    await updateChainWeight(file, type, () => values[i % values.length]!, { home })
    await updateChainWeight(file, `extra${i % 3}`, () => values[(i * 7) % values.length]!, { home })
    if (i === 0) process.stdout.write('ready\n')
  }
} else {
  process.stderr.write(`unknown mode ${mode}\n`)
  process.exit(2)
}
