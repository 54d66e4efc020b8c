#!/usr/bin/env node
// Mirador's CLI. Kept tiny: start-up time is a feature (see src/cli/main.ts).
const startedAt = performance.now()
const { main } = await import('../dist/cli/main.js')
await main(process.argv.slice(2), startedAt)
