/**
 * Prints one plain closing line, `tests: N passed, N failed[, N skipped]`, the form CI tools read
 * in any language. Jest prints its own summary after every listed reporter, so the line is written
 * when the process exits, to stay last.
 */
'use strict'
const { writeSync } = require('node:fs')

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    const line = `tests: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`
    process.once('exit', () => writeSync(2, line))
  }
}
module.exports = SummaryReporter
