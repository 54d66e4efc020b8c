#!/usr/bin/env node
// Mirador's CLI. Kept tiny: start-up time is a feature (see src/cli/main.ts). dist/mirador.js is
// the CLI bundled into one file by scripts/bundle.js (npm run build).
const startedAt = performance.now()
const { main } = await import('../dist/mirador.js')
await main(process.argv.slice(2), startedAt)
