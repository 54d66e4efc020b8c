/** What a rating changed, in one line: `mirador rate` and the chat's `/rate` say it alike. */
import type { RateResult } from '../plugins/learner/LearnerPlugin.js'

export function rateLine(result: RateResult): string {
  const where = result.copied ? `${result.file} (your copy of the shipped chain)` : result.file
  const change =
    result.after !== undefined
      ? `weight for "${result.type}" ${result.before ?? 'unset'} → ${result.after} in ${where}`
      : `weight not written: ${result.skipped}`
  const replaced = result.replaced !== undefined ? ` (replaces your earlier ${result.replaced})` : ''
  return `✓ rated ${result.runId} (${result.chain}) ${result.rating}${replaced}: ${change}`
}
