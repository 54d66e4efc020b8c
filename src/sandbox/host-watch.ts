/**
 * Inside the host: tells Mirador about every access the permission model refused (a file outside the
 * plugin's permissions, a program, a Node internal), even when the plugin catches the error, so
 * the behaviour test can report it. The refusal itself is Node's; this only watches.
 */
import childProcess from 'node:child_process'
import fs from 'node:fs'
import type { AccessMessage } from './protocol.js'

export type AccessReport = (kind: AccessMessage['kind'], detail: string) => void

const KIND: Record<string, AccessMessage['kind']> = {
  FileSystemRead: 'fs',
  FileSystemWrite: 'fs',
  FileSystemIn: 'fs',
  ChildProcess: 'child_process',
  WorkerThreads: 'worker',
}

export function refusedAccess(err: unknown, report: AccessReport): void {
  const e = err as { code?: unknown; permission?: unknown; resource?: unknown } | null
  if (e?.code !== 'ERR_ACCESS_DENIED' || (e as { reported?: boolean }).reported) return
  Object.defineProperty(e, 'reported', { value: true })
  const permission = typeof e.permission === 'string' ? e.permission : 'access'
  const resource = typeof e.resource === 'string' && e.resource ? ` ${e.resource}` : ''
  report(KIND[permission] ?? 'internal', `${permission}${resource}`)
}

type Fn = (this: unknown, ...args: unknown[]) => unknown

function watched(fn: Fn, report: AccessReport): Fn {
  const seen = (err: unknown) => refusedAccess(err, report)
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const last = args.at(-1)
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, err: unknown, ...rest: unknown[]) {
        if (err) seen(err)
        return (last as Fn).call(this, err, ...rest)
      }
    }
    try {
      const r = fn.apply(this, args)
      if (r instanceof Promise) r.catch(seen)
      return r
    } catch (err) {
      seen(err)
      throw err
    }
  }
  for (const key of Reflect.ownKeys(fn)) {
    if (key === 'prototype' || key === 'length' || key === 'name') continue
    const d = Object.getOwnPropertyDescriptor(fn, key)
    if (d) Object.defineProperty(wrapper, key, d)
  }
  return wrapper
}

function watchAll(target: object, report: AccessReport): void {
  for (const key of Object.keys(target)) {
    const fn: unknown = Reflect.get(target, key)
    // classes (ReadStream, ChildProcess) keep their constructors; a read-only export stays as it is
    if (typeof fn === 'function' && !/^[A-Z]/.test(key)) Reflect.set(target, key, watched(fn as Fn, report))
  }
}

export function watchAccess(report: AccessReport): void {
  watchAll(fs, report)
  watchAll(fs.promises, report)
  watchAll(childProcess, report)
  for (const key of ['binding', '_linkedBinding', 'dlopen']) {
    const fn: unknown = Reflect.get(process, key)
    if (typeof fn === 'function') Reflect.set(process, key, watched(fn as Fn, report))
  }
}
