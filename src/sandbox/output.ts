// The sandbox's terminal output: progress lines ("starting X… ok (detail)"), a timestamped transcript of both
// sides, checks, and verbose log lines — every line masked before it is written.
import type { Progress } from './stack'

export type Who = 'user' | 'bot' | 'agent' | 'desk' | 'event' | 'check' | 'fail' | 'log'

export const clock = (d: Date = new Date()) => {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

export const quote = (text: string, max = 300) => {
  const one = text.replace(/\s*\n\s*/g, ' ⏎ ')
  return JSON.stringify(one.length > max ? `${one.slice(0, max)}…` : one)
}

/** A file in the transcript: `[image] "parcel.png" (101 bytes)` (no size for a link). */
export const fileLabel = (kind: string, name: string, size?: number) => `[${kind}] ${quote(name)}${size === undefined ? '' : ` (${size} bytes)`}`

export type Output = ReturnType<typeof createOutput>

export function createOutput(opts: { write: (text: string) => void; mask: (text: string) => string; verbose?: boolean }) {
  /** A progress label waiting for its "ok": other lines break it first. */
  let pending: string | undefined
  /** Hooks for the interactive prompt: called around each write. */
  let around: { before(): void; after(): void } | undefined

  const raw = (text: string) => {
    around?.before()
    if (pending !== undefined) {
      opts.write('\n')
      pending = undefined
    }
    opts.write(`${opts.mask(text)}\n`)
    around?.after()
  }

  const label = (who: Who) => (who === 'check' ? '  ✓  ' : who === 'fail' ? '  ✗  ' : who.padEnd(5))

  const out = {
    /** A plain line. */
    line: (text = '') => raw(text),
    /** `12:01:02.123  user  → "text"`. */
    say(who: Who, text: string, at: Date = new Date()) {
      raw(`${clock(at)}  ${label(who)} ${text}`)
    },
    /** Verbose-only log lines, tagged with their source. */
    log(source: string, line: string) {
      if (opts.verbose) raw(`${clock()}  ${`[${source}]`.padEnd(15)} ${line}`)
    },
    progress: (async (title, run, detail) => {
      around?.before()
      if (pending !== undefined) opts.write('\n')
      opts.write(`${opts.mask(title)}… `)
      pending = title
      around?.after()
      try {
        const value = await run()
        const d = detail ? ` (${detail(value)})` : ''
        if (pending === title) opts.write(`${opts.mask(`ok${d}`)}\n`)
        else raw(`${title}… ok${d}`)
        pending = undefined
        return value
      } catch (e) {
        if (pending === title) opts.write('FAILED\n')
        else raw(`${title}… FAILED`)
        pending = undefined
        throw e
      }
    }) as Progress,
    setPromptHooks(hooks: { before(): void; after(): void } | undefined) {
      around = hooks
    },
  }
  return out
}
