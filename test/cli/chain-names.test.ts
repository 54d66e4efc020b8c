/** Chain names: the `name:` key read without a parser, shadowing across folders, conflicts in one. */
import { describe, expect, it } from '@jest/globals'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { listChains, findChainFile } from '../../src/cli/chain-files.js'
import { readNameKey, replaceNameKey } from '../../src/cli/chain-name.js'
import { MiradorError } from '../../src/engine/errors.js'
import { makeProject, ROOT, runCli } from '../support/cli.js'

const STAGES = 'stages:\n  a: { model: m, prompt: "{{query}}" }\n'

describe('readNameKey / replaceNameKey', () => {
  it('reads a top-level name: bare, quoted, with a comment; not an indented or commented one', () => {
    expect(readNameKey('# c\nname: quick-deep\n')).toEqual({ name: 'quick-deep', line: 2, column: 1 })
    expect(readNameKey('name: "x1"  # mine\n')?.name).toBe('x1')
    expect(readNameKey("\uFEFFname: 'y_2'\r\nstages: {}\r\n")?.name).toBe('y_2')
    expect(readNameKey('stages:\n  a:\n    name: inner\n# name: commented\n')).toBeUndefined()
    // not a chain name, or not a string: the schema reports it, the file keeps its file name
    expect(readNameKey('name: Not-Valid\n')).toBeUndefined()
    expect(readNameKey('name: null\n')).toBeUndefined()
    expect(readNameKey('{ name: flow, stages: {} }\n')).toBeUndefined()
  })

  it('replaces only the value, keeping quotes, comments and line ends', () => {
    expect(replaceNameKey('# top\nname: single   # the name\nstages: {}\n', 'mine')).toBe(
      '# top\nname: mine   # the name\nstages: {}\n',
    )
    expect(replaceNameKey('name: "a"\r\nx: 1\r\n', 'b')).toBe('name: "b"\r\nx: 1\r\n')
    expect(replaceNameKey('name: a\n', 'null')).toBe('name: "null"\n')
    expect(replaceNameKey('stages: {}\n', 'b')).toBeUndefined()
  })
})

describe('listChains / findChainFile', () => {
  function folders(files: Record<string, string>): { cwd: string; dirs: string[] } {
    const { dir } = makeProject(files)
    const dirs = ['project', 'user', 'shipped'].map((d) => path.join(dir, d))
    for (const d of dirs) mkdirSync(d, { recursive: true })
    return { cwd: dir, dirs }
  }

  it('a chain hides one of the same name in a later folder, whatever its file is called', () => {
    const { cwd, dirs } = folders({
      'project/mine.yaml': `name: single\n${STAGES}`,
      'shipped/single.yaml': `name: single\n${STAGES}`,
      'shipped/other.yaml': STAGES,
    })
    const list = listChains(dirs)
    expect(list.map((c) => [path.relative(cwd, c.file), c.name, c.shadowed, c.conflicts])).toEqual([
      ['project/mine.yaml', 'single', false, []],
      ['shipped/other.yaml', 'other', false, []],
      ['shipped/single.yaml', 'single', true, []],
    ])
    expect(findChainFile('single', dirs, cwd)).toBe(path.join(dirs[0]!, 'mine.yaml'))
    // the file name of a chain that names itself otherwise is not its name, and the error says so
    expect(() => findChainFile('mine', dirs, cwd)).toThrow(/project\/mine\.yaml names itself "single"/)
  })

  it('two files of one folder claiming a name: both listed as conflicting, and finding it fails naming both', () => {
    const { cwd, dirs } = folders({
      'project/a.yaml': `name: x\n${STAGES}`,
      'project/b.yaml': `# b\nname: x\n${STAGES}`,
      // a name: that differs from its file name and collides with another file's name
      'user/c.yaml': `name: d\n${STAGES}`,
      'user/d.yaml': STAGES,
      'shipped/x.yaml': STAGES,
    })
    const byFile = Object.fromEntries(listChains(dirs).map((c) => [path.relative(cwd, c.file), c]))
    expect(byFile['project/a.yaml']!.conflicts).toEqual([path.join(dirs[0]!, 'b.yaml')])
    expect(byFile['project/b.yaml']!.conflicts).toEqual([path.join(dirs[0]!, 'a.yaml')])
    expect(byFile['user/c.yaml']!.conflicts).toEqual([path.join(dirs[1]!, 'd.yaml')])
    expect(byFile['shipped/x.yaml']).toMatchObject({ shadowed: true, conflicts: [] })
    let err: unknown
    try {
      findChainFile('x', dirs, cwd)
    } catch (e) {
      err = e
    }
    expect(MiradorError.is(err, 'CHAIN_NAME_CONFLICT')).toBe(true)
    expect((err as MiradorError).message).toMatch(/project\/a\.yaml and project\/b\.yaml both name the chain "x"/)
    expect(() => findChainFile('d', dirs, cwd)).toThrow(/user\/c\.yaml and user\/d\.yaml both name the chain "d"/)
    // a path is still a path
    expect(findChainFile('project/a.yaml', dirs, cwd)).toBe(path.join(dirs[0]!, 'a.yaml'))
  })
})

describe('the CLI with conflicting chain names', () => {
  const project = () =>
    makeProject({
      'chains/a.yaml': `name: x\n${STAGES}`,
      'chains/b.yaml': `# the same name again\nname: "x"\n${STAGES}`,
      'chains/ok.yaml': STAGES,
    })

  it('chain validate: an error at the name: key of each file, exit 1', async () => {
    const p = project()
    const r = await runCli(['chain', 'validate'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/chains\/a\.yaml:1:1: CHAIN_NAME_CONFLICT: the chain name "x" .*chains\/b\.yaml/)
    expect(r.stderr).toMatch(/chains\/b\.yaml:2:1: CHAIN_NAME_CONFLICT: the chain name "x" .*chains\/a\.yaml/)
    expect(r.stdout).toMatch(/✓ chains\/ok\.yaml/)
    const j = await runCli(['chain', 'validate', 'chains/b.yaml', '--json'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home },
    })
    expect(JSON.parse(j.stdout).files[0].errors).toEqual([
      expect.objectContaining({ code: 'CHAIN_NAME_CONFLICT', line: 2, column: 1 }),
    ])
  })

  it('chain ls warns once and marks both; chain run x refuses, naming both files', async () => {
    const p = project()
    const ls = await runCli(['chain', 'ls'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(ls.code).toBe(0)
    expect(ls.stdout.match(/^x .*name conflict/gm)).toHaveLength(2)
    expect(ls.stderr.match(/⚠/g)).toHaveLength(1)
    expect(ls.stderr).toMatch(/chains\/a\.yaml and chains\/b\.yaml both name the chain "x"/)
    const json = await runCli(['chain', 'ls', '--json'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(JSON.parse(json.stdout).find((c: { file: string }) => c.file === 'chains/a.yaml')).toMatchObject({
      name: 'x',
      conflicts: ['chains/b.yaml'],
    })
    const run = await runCli(['chain', 'run', 'x', 'hi'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/✗ CHAIN_NAME_CONFLICT: chains\/a\.yaml and chains\/b\.yaml both name the chain "x"/)
  })
})

describe('chain ls inside the Mirador package itself', () => {
  it('labels the shipped chains found in ./chains [shipped], not [project]', async () => {
    const { home } = makeProject({})
    const r = await runCli(['chain', 'ls', '--json'], { cwd: ROOT, env: { MIRADOR_HOME: home } })
    expect(r.code).toBe(0)
    const list = JSON.parse(r.stdout) as { name: string; source: string; shadowed: boolean }[]
    expect(list.find((c) => c.name === 'quick-deep')).toMatchObject({ source: 'shipped', shadowed: false })
    expect(list.filter((c) => c.source === 'project')).toEqual([])
    const text = await runCli(['chain', 'ls'], { cwd: ROOT, env: { MIRADOR_HOME: home } })
    expect(text.stdout).toMatch(/^single .*\[shipped\]$/m)
  })
})
