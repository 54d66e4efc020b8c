/**
 * Which files a document root stands for. A root is a folder or a file the user added; a folder's
 * files are chosen by the root's own rules:
 *
 * - by default Markdown, text and source code, by extension (TEXT_EXTENSIONS); `include` globs
 *   replace that list (`*.md`, `notes/**`);
 * - `exclude` globs leave files out, and folders with everything in them (`drafts`, `**\/test/**`);
 * - hidden files and folders (a name starting with a dot: .git, .env) and node_modules are never
 *   walked into, and links to folders are not followed (no loops, no leaving the root);
 * - a file over the root's size limit is left out with a note; so is one that is not UTF-8 text,
 *   found when it is read (sync.ts).
 *
 * Globs (minimatch) are matched against the path below the root with `/` separators; a glob without
 * a slash matches a name at any depth, as in .gitignore. A file added as a root on its own is taken
 * whatever its extension.
 */
import { lstat, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { isWithin, type Root } from './roots.js'

export const TEXT_EXTENSIONS: ReadonlySet<string> = new Set(
  (
    'md markdown mdx mdown mkd txt text rst adoc asciidoc org tex bib ' +
    'ts tsx mts cts js jsx mjs cjs vue svelte astro py pyi rb go rs java kt kts scala groovy swift m mm ' +
    'c h cc cpp cxx hpp hh cs fs fsx vb php pl pm lua r jl dart ex exs erl hrl hs ml mli clj cljs ' +
    'elm nim zig v sol sh bash zsh fish ps1 bat sql graphql gql proto ' +
    'html htm css scss sass less xml svg json jsonc json5 yaml yml toml ini cfg conf properties ' +
    'dockerfile makefile cmake gradle tf hcl nix'
  ).split(/\s+/),
)
/** files known by their whole name rather than an extension */
const TEXT_NAMES: ReadonlySet<string> = new Set(['readme', 'license', 'makefile', 'dockerfile', 'changelog', 'notes'])
const NEVER_WALKED: ReadonlySet<string> = new Set(['node_modules', '__pycache__'])

export interface Found {
  /** absolute */
  path: string
  size: number
  mtimeMs: number
}

export interface Scan {
  files: Map<string, Found>
  /** left out with a reason the user is told (too large) */
  skipped: { path: string; reason: string }[]
  /** files of other kinds, not chosen by the rules (counted, so the user knows --include exists) */
  ignored: number
}

export interface Rules {
  chooses: (rel: string) => boolean
  prunes: (rel: string) => boolean
}

/**
 * The compiled rules of a root: `chooses(rel)` for a file, `prunes(rel)` for a folder. (minimatch
 * is imported here, when files are chosen, not by every command that loads the memory plugin.)
 */
export async function rules(root: Pick<Root, 'include' | 'exclude'>): Promise<Rules> {
  const { Minimatch } = await import('minimatch')
  const compile = (globs: string[] | undefined) =>
    (globs ?? []).map((g) => new Minimatch(g, { dot: true, matchBase: !g.includes('/'), nocomment: true }))
  const include = compile(root.include)
  const exclude = compile(root.exclude)
  const excluded = (rel: string) => exclude.some((m) => m.match(rel))
  return {
    prunes: (rel) => excluded(rel) || hidden(path.posix.basename(rel)),
    chooses: (rel) => {
      if (excluded(rel)) return false
      return include.length ? include.some((m) => m.match(rel)) : isTextName(path.posix.basename(rel))
    },
  }
}

function hidden(name: string): boolean {
  return name.startsWith('.') || NEVER_WALKED.has(name)
}

/** by extension, or by the whole name (README, Makefile) */
export function isTextName(name: string): boolean {
  const lower = name.toLowerCase()
  const dot = lower.lastIndexOf('.')
  return TEXT_NAMES.has(lower) || (dot > 0 && TEXT_EXTENSIONS.has(lower.slice(dot + 1)))
}

/**
 * Whether `root` chooses the file at `file` (absolute) by its rules, without walking: the file is
 * below it, no folder on the way is hidden or excluded, and the file's name passes.
 */
export async function rootChooses(root: Root, file: string): Promise<boolean> {
  if (root.kind === 'file') return file === root.path
  if (file === root.path || !isWithin(file, root.path)) return false
  const rel = path.relative(root.path, file)
  const parts = rel.split(path.sep)
  const r = await rules(root)
  for (let i = 1; i < parts.length; i++) if (r.prunes(parts.slice(0, i).join('/'))) return false
  return !hidden(parts.at(-1)!) && r.chooses(parts.join('/'))
}

/** The files `roots` choose (see the module comment); a root that is gone chooses none, with a note. */
export async function scanRoots(roots: Root[]): Promise<Scan> {
  const scan: Scan = { files: new Map(), skipped: [], ignored: 0 }
  for (const root of roots) {
    const st = await stat(root.path).catch(() => undefined)
    if (!st) {
      // its files go from the index; the root stays, for when it is back (a drive mounted again)
      scan.skipped.push({ path: root.path, reason: 'not there any more (`mirador docs rm` stops indexing it)' })
      continue
    }
    if (root.kind === 'file' || st.isFile()) take(scan, root, root.path, st)
    else await walk(scan, root, await rules(root), root.path, '')
  }
  return scan
}

function take(scan: Scan, root: Root, file: string, st: { size: number; mtimeMs: number }): void {
  if (scan.files.has(file)) return
  if (st.size > root.maxBytes) {
    scan.skipped.push({ path: file, reason: `${mb(st.size)}, over the ${mb(root.maxBytes)} limit (--max-size)` })
    return
  }
  scan.files.set(file, { path: file, size: st.size, mtimeMs: st.mtimeMs })
}

async function walk(scan: Scan, root: Root, r: Rules, dir: string, rel: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    scan.skipped.push({ path: dir, reason: `cannot be read (${err.code ?? err.message})` })
    return []
  })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const full = path.join(dir, e.name)
    const sub = rel ? `${rel}/${e.name}` : e.name
    if (e.isDirectory()) {
      if (!r.prunes(sub)) await walk(scan, root, r, full, sub)
      continue
    }
    if (hidden(e.name)) continue
    if (!r.chooses(sub)) {
      if (e.isFile()) scan.ignored++
      continue
    }
    // a link is followed to a file, never to a folder
    const st = e.isSymbolicLink() ? await stat(full).catch(() => undefined) : await lstat(full).catch(() => undefined)
    if (st?.isFile()) take(scan, root, full, st)
  }
}

export function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`
}
