// Every temporary file of a test run goes under one folder of its own, removed when the run ends
// (global-teardown.cjs): tests make hundreds of throw-away projects and homes, and a crashed or
// timed-out test must not leave them behind in the machine's /tmp. Workers and the CLI processes
// they start inherit TMPDIR, so os.tmpdir() and mkdtemp land there.
const { mkdtempSync } = require('node:fs')
const os = require('node:os')
const path = require('node:path')

module.exports = async function globalSetup() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mirador-jest-'))
  process.env.MIRADOR_JEST_TMP = root
  process.env.TMPDIR = root
}
