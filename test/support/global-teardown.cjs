// Removes the run's temporary folder (global-setup.cjs).
const { rmSync } = require('node:fs')

module.exports = async function globalTeardown() {
  const root = process.env.MIRADOR_JEST_TMP
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 3 })
}
