import { describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { resolvePluginEntry } from '../../src/engine/plugin-resolve.js'
import { MiradorError } from '../../src/engine/errors.js'

/** A folder holding `files` (path → text); a path ending in / is an empty folder. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-resolve-'))
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel)
    if (rel.endsWith('/')) mkdirSync(file, { recursive: true })
    else {
      mkdirSync(path.dirname(file), { recursive: true })
      writeFileSync(file, text)
    }
  }
  return dir
}

function failure(spec: string, dir: string): MiradorError {
  try {
    resolvePluginEntry(spec, dir)
  } catch (err) {
    if (err instanceof MiradorError) return err
    throw err
  }
  throw new Error(`${spec} resolved`)
}

describe('resolvePluginEntry: a path resolves as Node resolves one for require', () => {
  it.each([
    ['the exact file', { 'plugins/p': '', 'plugins/p.js': '' }, 'plugins/p'],
    ['.js before .mjs and .cjs', { 'plugins/p.js': '', 'plugins/p.mjs': '', 'plugins/p.cjs': '' }, 'plugins/p.js'],
    ['.mjs', { 'plugins/p.mjs': '', 'plugins/p.cjs': '' }, 'plugins/p.mjs'],
    ['.cjs', { 'plugins/p.cjs': '' }, 'plugins/p.cjs'],
    ['a file before a folder of the same name', { 'plugins/p.js': '', 'plugins/p/index.js': '' }, 'plugins/p.js'],
    [
      "a folder's package.json exports",
      {
        'plugins/p/package.json': '{"exports":{".":{"import":"./lib/main.js"}},"main":"x.js"}',
        'plugins/p/lib/main.js': '',
      },
      'plugins/p/lib/main.js',
    ],
    [
      "its main, completed like Node's",
      { 'plugins/p/package.json': '{"main":"lib/main"}', 'plugins/p/lib/main.js': '' },
      'plugins/p/lib/main.js',
    ],
    ["a folder's index.js", { 'plugins/p/index.js': '' }, 'plugins/p/index.js'],
  ])('%s', (_label, files, expected) => {
    const dir = folder(files)
    expect(resolvePluginEntry('./plugins/p', dir)).toBe(path.join(dir, expected))
  })

  it('an absolute path too', () => {
    const dir = folder({ 'p.mjs': '' })
    expect(resolvePluginEntry(path.join(dir, 'p'), '/')).toBe(path.join(dir, 'p.mjs'))
  })

  it('nothing found: what was tried, and the near file of that folder', () => {
    const dir = folder({ 'plugins/my-plugin.js': '', 'plugins/other.js': '' })
    const e = failure('./plugins/my-plugn', dir)
    expect(e.code).toBe('PLUGIN_LOAD')
    expect(e.message).toBe(
      'plugin ./plugins/my-plugn not found: tried plugins/my-plugn, plugins/my-plugn.js, .mjs, .cjs and a folder ' +
        'plugins/my-plugn/ (with package.json or index.js), relative to the config file. ' +
        'Did you mean "./plugins/my-plugin"?',
    )
    expect(e.details).toMatchObject({ plugin: './plugins/my-plugn' })
  })

  it('a misspelt folder is suggested, and nothing when no name is near', () => {
    const dir = folder({ 'plugins/my-plugin.js': '' })
    expect(failure('./plugin/my-plugin', dir).message).toContain('Did you mean "./plugins"?')
    expect(failure('./plugins/something-else', dir).message).not.toContain('Did you mean')
  })

  it('a folder without an entry says so', () => {
    const dir = folder({ 'plugins/p/': '' })
    expect(failure('./plugins/p', dir).message).toContain(
      'the folder plugins/p/, which has no package.json exports or main and no index.js',
    )
  })

  it('a package.json naming a file that is not there asks whether the package is built', () => {
    const dir = folder({ 'plugins/p/package.json': '{"exports":"./dist/index.js"}' })
    expect(failure('./plugins/p', dir).message).toMatch(/names .*dist\/index\.js \(exports\), .*is the package built\?/)
  })

  it('a package name is looked up in node_modules from the folder up, and named when missing', () => {
    const dir = folder({ 'node_modules/mirador-plugin-x/package.json': '{"main":"main.js"}' })
    writeFileSync(path.join(dir, 'node_modules/mirador-plugin-x/main.js'), '')
    const sub = path.join(dir, 'project')
    mkdirSync(sub)
    expect(resolvePluginEntry('mirador-plugin-x', sub)).toBe(path.join(dir, 'node_modules/mirador-plugin-x/main.js'))
    expect(failure('mirador-plugin-y', sub).message).toBe(
      `plugin package mirador-plugin-y is not installed: run \`npm install mirador-plugin-y\` in ${sub}`,
    )
  })
})
