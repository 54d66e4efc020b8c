/**
 * Prints one plain closing line, `tests: N passed, N failed[, N skipped]`, the form CI tools read
 * in any language. Jest prints its own summary after every listed reporter, so the line is written
 * when the process exits, to stay last.
 *
 * Tests skipped because MIRADOR_TEST_GGUF is not set (their names carry the tag test-gguf.ts adds)
 * get one notice for the whole run, just before that line, saying how to run them.
 */
'use strict'
const { writeSync } = require('node:fs')

// GGUF_SKIP_TAG in test-gguf.ts
const GGUF_SKIP_TAG = '[skipped: needs MIRADOR_TEST_GGUF]'

function skippedForGguf(results) {
  let n = 0
  for (const file of results.testResults)
    for (const t of file.testResults) if (t.status === 'pending' && t.fullName.includes(GGUF_SKIP_TAG)) n++
  return n
}

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    const gguf = skippedForGguf(results)
    const notice = gguf
      ? `note: ${gguf} test(s) skipped: they need the stories260K.gguf test model. Set MIRADOR_TEST_GGUF to its ` +
        'path to run them (MIRADOR_TEST_GGUF=../shared/models/stories260K.gguf npm test); .ci/run sets it.\n'
      : ''
    const line = `tests: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`
    process.once('exit', () => writeSync(2, notice + line))
  }
}
module.exports = SummaryReporter
