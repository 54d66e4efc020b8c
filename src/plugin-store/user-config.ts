/**
 * Enabling and disabling installed plugins in $MIRADOR_HOME/config.yaml `plugins:` by package
 * name, through the yaml Document API (comments and layout kept), written atomically under a lock.
 * An entry naming the plugin, as a string or as `{ name: … }`, counts as enabled.
 */
import { readFile } from 'node:fs/promises'
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml'
import { writeFileAtomic } from '../lib/atomic-write.js'
import { withFileLock } from '../lib/file-lock.js'
import { MiradorError } from '../engine/errors.js'

function entryName(item: unknown): string | undefined {
  if (isScalar(item)) return String(item.value)
  if (isMap(item)) {
    const n = item.get('name')
    return typeof n === 'string' ? n : undefined
  }
  return undefined
}

async function editConfig(file: string, edit: (doc: Document) => boolean): Promise<boolean> {
  return withFileLock(`${file}.lock`, async () => {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return ''
      throw err
    })
    const doc = parseDocument(text)
    if (doc.errors.length)
      throw new MiradorError(
        'CONFIG_SYNTAX',
        `${file} does not parse (${doc.errors[0]!.message.split('\n')[0]}): fix it, then try again.`,
      )
    if (!edit(doc)) return false
    await writeFileAtomic(file, doc.toString())
    return true
  })
}

/** Adds `name` to `plugins:` unless an entry names it already; true when the file changed. */
export function enablePlugin(file: string, name: string): Promise<boolean> {
  return editConfig(file, (doc) => {
    const list = doc.get('plugins', true)
    if (isSeq(list)) {
      if (list.items.some((i) => entryName(i) === name)) return false
      list.add(doc.createNode(name))
    } else if (doc.contents === null) doc.contents = doc.createNode({ plugins: [name] })
    else doc.set('plugins', doc.createNode([name]))
    return true
  })
}

/** Removes the entries naming `name` from `plugins:`; true when the file changed. */
export function disablePlugin(file: string, name: string): Promise<boolean> {
  return editConfig(file, (doc) => {
    const list = doc.get('plugins', true)
    if (!isSeq(list)) return false
    const before = list.items.length
    list.items = list.items.filter((i) => entryName(i) !== name)
    return list.items.length !== before
  })
}
