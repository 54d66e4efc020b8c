/**
 * The real GGUF test model (stories260K), reached only through MIRADOR_TEST_GGUF.
 *
 * `.ci/run` always sets it, so CI runs every test. A newcomer's plain `npm test` has no model: the
 * tests that need it are declared with `describeGguf` / `itGguf` and are skipped, not failed. Their
 * names then carry GGUF_SKIP_TAG, which the summary reporter (summary-reporter.cjs) counts to print
 * one notice for the whole run instead of one per suite. A variable that names a missing file is an
 * error, not a skip: that is a broken setup, not an absent one.
 */
import { describe, it } from '@jest/globals'
import { existsSync } from 'node:fs'
import path from 'node:path'

/** Appended to the name of every test skipped for want of the model (summary-reporter.cjs looks for it). */
export const GGUF_SKIP_TAG = '[skipped: needs MIRADOR_TEST_GGUF]'

function fromEnv(): string {
  const file = process.env.MIRADOR_TEST_GGUF
  if (!file) return ''
  // relative to the folder jest runs in, like any path a user types
  const abs = path.resolve(file)
  if (!existsSync(abs)) throw new Error(`MIRADOR_TEST_GGUF=${file}: no such file (it should be stories260K.gguf)`)
  return abs
}

/** The model's absolute path, or '' when MIRADOR_TEST_GGUF is not set (only skipped tests see ''). */
export const TEST_GGUF = fromEnv()

/** The model's absolute path, for code inside `describeGguf` / `itGguf`. */
export function gguf(): string {
  if (!TEST_GGUF) throw new Error('gguf() called outside describeGguf/itGguf: MIRADOR_TEST_GGUF is not set')
  return TEST_GGUF
}

/** A describe block that needs the real model: skipped, with GGUF_SKIP_TAG in its name, without it. */
export function describeGguf(name: string, fn: () => void): void {
  if (TEST_GGUF) describe(name, fn)
  else describe.skip(`${name} ${GGUF_SKIP_TAG}`, fn)
}

/** One test that needs the real model, in a block that does not. */
export function itGguf(name: string, fn: () => Promise<unknown>, timeout?: number): void {
  if (TEST_GGUF) it(name, fn, timeout)
  else it.skip(`${name} ${GGUF_SKIP_TAG}`, fn, timeout)
}
