#!/usr/bin/env node
/**
 * Bundles the CLI's entry (dist/cli/main.js, compiled by tsc) and everything it imports into one
 * file, dist/mirador.js, which bin/run.js runs. Start-up is a feature: one file instead of about a
 * hundred modules takes a run's first token tens of milliseconds sooner (see `npm run bench`).
 * What loads only when used, and is heavy or native, stays outside and is imported from
 * node_modules as usual; oclif's commands (dist/commands) run from the compiled modules.
 */
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

await build({
  entryPoints: [`${root}dist/cli/main.js`],
  outfile: `${root}dist/mirador.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // loaded lazily, when used: native addons, servers, large libraries, oclif. The chromadb client
  // too: a run's recall comes from the memory service, so a run loads it only to remember, after
  // its answer; minimatch only when documents are indexed; re2-wasm (which loads its .wasm beside it)
  // only for a tool schema with a pattern
  external: [
    '@oclif/core',
    'ajv',
    'chromadb',
    'isolated-vm',
    'minimatch',
    'node-llama-cpp',
    're2-wasm',
    'systeminformation',
    'yaml',
  ],
  // the CommonJS modules inside (tapable) require Node's own modules
  banner: {
    js:
      "import { createRequire as __createRequire } from 'node:module'; " +
      'const require = __createRequire(import.meta.url);',
  },
  logLevel: 'warning',
})
