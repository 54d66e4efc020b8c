/**
 * How much of a run one memory keeps. A query or answer longer than `max_turn_chars` is cut (its
 * start kept, with a note of how much went), in the memory and in the session turn alike, and
 * recall embeds only that start: a 10 MB query once made a memory of 10 MB that took 19 s and 2 GB
 * to store, and every later listing had to carry it.
 */

/** The note that ends a cut text. */
export function cutNote(dropped: number): string {
  return `… [${dropped.toLocaleString('en-US')} more characters not kept]`
}

/** `text` within `max` characters (plus the note when cut); `dropped` is how many were left out. */
export function clip(text: string, max: number): { text: string; dropped: number } {
  if (text.length <= max) return { text, dropped: 0 }
  let end = max
  // never keep half of a surrogate pair
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  const dropped = text.length - end
  return { text: `${text.slice(0, end)}${cutNote(dropped)}`, dropped }
}

/** What the run's `memory` event says when the query is longer than a memory keeps. */
export function clippedMessage(length: number, max: number): string {
  const n = (x: number) => x.toLocaleString('en-US')
  return `this query is ${n(length)} characters: memory keeps, and recalls with, only its first ${n(max)}`
}
