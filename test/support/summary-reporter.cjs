/**
 * Prints one plain closing line after jest's own summary (on stderr, where jest writes it, so it stays last), `tests: N passed, N failed[, N skipped]`,
 * the form CI tools read in any language.
 */
'use strict'
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    process.stderr.write(`tests: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
  }
}
module.exports = SummaryReporter
