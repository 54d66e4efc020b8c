/** `mirador schemas path` and `mirador chain copy`, through the real CLI. */
import { describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { withSchemaLine } from '../../src/cli/chain-copy.js'
import { writeFileAtomic } from '../../src/lib/atomic-write.js'
import { makeProject, ROOT, runCli } from '../support/cli.js'

const SCHEMA = path.join(ROOT, 'schemas', 'chain.schema.json')
const SHIPPED_SINGLE = readFileSync(path.join(ROOT, 'chains', 'single.yaml'), 'utf8')

describe('mirador schemas path', () => {
  it('prints the folder of the installed schemas; --json lists them', async () => {
    const { dir, home } = makeProject({})
    const r = await runCli(['schemas', 'path'], { cwd: dir, env: { MIRADOR_HOME: home } })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${path.join(ROOT, 'schemas')}\n`)
    const j = await runCli(['schemas', 'path', '--json'], { cwd: dir, env: { MIRADOR_HOME: home } })
    const out = JSON.parse(j.stdout) as { path: string; schemas: string[] }
    expect(out.schemas).toEqual(expect.arrayContaining(['chain.schema.json', 'manifest.schema.json']))
    for (const f of out.schemas) expect(existsSync(path.join(out.path, f))).toBe(true)
  })
})

describe('mirador chain copy', () => {
  it('copies a shipped chain into ./chains with the absolute schema line; it validates and hides it', async () => {
    const { dir, home } = makeProject({})
    const env = { MIRADOR_HOME: home }
    const r = await runCli(['chain', 'copy', 'single'], { cwd: dir, env })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/✓ wrote chains\/single\.yaml/)
    const copy = readFileSync(path.join(dir, 'chains', 'single.yaml'), 'utf8')
    expect(copy.split('\n')[0]).toBe(`# yaml-language-server: $schema=${SCHEMA}`)
    // only the schema line changed
    expect(copy.split('\n').slice(1)).toEqual(SHIPPED_SINGLE.split('\n').slice(1))
    const v = await runCli(['chain', 'validate'], { cwd: dir, env })
    expect(v.code).toBe(0)
    const ls = JSON.parse((await runCli(['chain', 'ls', '--json'], { cwd: dir, env })).stdout) as {
      name: string
      source: string
      shadowed: boolean
    }[]
    expect(ls.filter((c) => c.name === 'single').map((c) => [c.source, c.shadowed])).toEqual([
      ['project', false],
      ['shipped', true],
    ])
  })

  it('refuses to replace a file (FILE_EXISTS); --force refreshes it from the chain it hides', async () => {
    const { dir, home } = makeProject({})
    const env = { MIRADOR_HOME: home }
    expect((await runCli(['chain', 'copy', 'single'], { cwd: dir, env })).code).toBe(0)
    const file = path.join(dir, 'chains', 'single.yaml')
    writeFileSync(file, 'name: single\nstages:\n  mine: { model: m, prompt: "{{query}}" }\n')
    const again = await runCli(['chain', 'copy', 'single'], { cwd: dir, env })
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/✗ FILE_EXISTS: chains\/single\.yaml already exists: pass --force/)
    expect(readFileSync(file, 'utf8')).toContain('mine:')
    const json = await runCli(['chain', 'copy', 'single', '--json'], { cwd: dir, env })
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'FILE_EXISTS' } })
    const forced = await runCli(['chain', 'copy', 'single', '--force', '--json'], { cwd: dir, env })
    expect(forced.code).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({
      from: path.join(ROOT, 'chains', 'single.yaml'),
      to: file,
      name: 'single',
      replaced: true,
    })
    expect(readFileSync(file, 'utf8')).not.toContain('mine:')
    // no temp files left beside it
    expect(readdirSync(path.join(dir, 'chains'))).toEqual(['single.yaml'])
  })

  it('--as renames the copy (file and name:), --to picks the folder; a name the folder has is refused', async () => {
    const { dir, home } = makeProject({ 'chains/other.yaml': 'name: taken\nstages:\n  a: { model: m, prompt: p }\n' })
    const env = { MIRADOR_HOME: home }
    const r = await runCli(['chain', 'copy', 'single', '--as', 'notes', '--to', 'mine'], { cwd: dir, env })
    expect(r.code).toBe(0)
    const copy = readFileSync(path.join(dir, 'mine', 'notes.yaml'), 'utf8')
    expect(copy).toMatch(/^name: notes$/m)
    expect(copy).not.toMatch(/^name: single$/m)
    expect((await runCli(['chain', 'validate', 'mine/notes.yaml'], { cwd: dir, env })).code).toBe(0)
    const clash = await runCli(['chain', 'copy', 'single', '--as', 'taken'], { cwd: dir, env })
    expect(clash.code).toBe(1)
    expect(clash.stderr).toMatch(/✗ CHAIN_NAME_CONFLICT: chains\/other\.yaml already names the chain "taken"/)
    expect(existsSync(path.join(dir, 'chains', 'taken.yaml'))).toBe(false)
    const bad = await runCli(['chain', 'copy', 'single', '--as', 'Not A Name'], { cwd: dir, env })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/✗ USAGE: "Not A Name" is not a chain name/)
    const missing = await runCli(['chain', 'copy', 'nope'], { cwd: dir, env })
    expect(missing.stderr).toMatch(/✗ CONFIG_NOT_FOUND: no chain named "nope"/)
  })

  it('has help with examples, like every command', async () => {
    const { dir, home } = makeProject({})
    for (const cmd of [
      ['chain', 'copy'],
      ['schemas', 'path'],
    ]) {
      const r = await runCli([...cmd, '--help'], { cwd: dir, env: { MIRADOR_HOME: home } })
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/EXAMPLES/)
      expect(r.stdout).toContain(`mirador ${cmd.join(' ')}`)
    }
  })
})

describe('withSchemaLine / writeFileAtomic exclusive', () => {
  it('rewrites the schema line in place, or adds one at the top', () => {
    expect(
      withSchemaLine('# yaml-language-server: $schema=../schemas/chain.schema.json\n# c\nname: a\n', '/s.json'),
    ).toBe('# yaml-language-server: $schema=/s.json\n# c\nname: a\n')
    expect(withSchemaLine('name: a\n', '/s.json')).toBe('# yaml-language-server: $schema=/s.json\nname: a\n')
  })

  it('never replaces an existing file, and leaves no temp file', async () => {
    const { dir } = makeProject({ 'f.txt': 'old' })
    const file = path.join(dir, 'f.txt')
    await expect(writeFileAtomic(file, 'new', 0o644, { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' })
    expect(readFileSync(file, 'utf8')).toBe('old')
    await writeFileAtomic(path.join(dir, 'g.txt'), 'new', 0o644, { exclusive: true })
    expect(readdirSync(dir).sort()).toEqual(['.mirador-home', 'f.txt', 'g.txt'])
  })
})
