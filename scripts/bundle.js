#!/usr/bin/env node
/**
 * Bundles the CLI's entry (dist/cli/main.js, compiled by tsc) and everything it imports into one
 * file, dist/mirador.js, which bin/run.js runs. Start-up is a feature: one file instead of about a
 * hundred modules takes a run's first token tens of milliseconds sooner (see `npm run bench`).
 * What loads only when used, and is heavy or native, stays outside and is imported from
 * node_modules as usual; oclif's commands (dist/commands) run from the compiled modules.
 */
import { build } from 'esbuild'
import { copyFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * MiradorError stays a module of its own (dist/engine/errors.js) that the bundle imports: plugins
 * get it from there through @mirador/plugin-api (packages/plugin-api), so the CLI, oclif's
 * commands and every plugin share one class, not copies of it.
 */
const errorsModule = path.join(root, 'dist', 'engine', 'errors.js')
const sharedErrors = {
  name: 'shared-errors',
  setup(b) {
    b.onResolve({ filter: /errors\.js$/ }, (args) =>
      path.resolve(args.resolveDir, args.path) === errorsModule
        ? { path: './engine/errors.js', external: true }
        : undefined,
    )
  },
}

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
    '@modelcontextprotocol/sdk',
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
  plugins: [sharedErrors],
  logLevel: 'warning',
})

/**
 * The plugin host (src/sandbox/host-main.ts): its own small entry, dist/sandbox/host.js, started once
 * per sandboxed plugin, so its start-up is the host's code alone. Engine modules it shares with
 * Mirador (the plugin loader, MiradorError) stay the compiled ones beside it.
 */
await build({
  entryPoints: [`${root}dist/sandbox/host-main.js`],
  outfile: `${root}dist/sandbox/host.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['../engine/*'],
  logLevel: 'warning',
})

// the behaviour test's default recording (src/sandbox/drive.ts reads it at run time)
copyFileSync(`${root}src/sandbox/recorded-run.json`, `${root}dist/sandbox/recorded-run.json`)
