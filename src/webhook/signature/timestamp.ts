export type TimestampFormat = 'unix' | 'unixMs' | 'iso'

/** A delivery's timestamp as epoch milliseconds, or undefined when it is not in the declared format. */
export function parseTimestamp(text: string, format: TimestampFormat): number | undefined {
  const t = text.trim()
  if (!t) return undefined
  if (format === 'iso') {
    const ms = Date.parse(t)
    return Number.isNaN(ms) ? undefined : ms
  }
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined
  return format === 'unix' ? Number(t) * 1000 : Number(t)
}

/** The timestamp text a vendor would send at `now` (the inverse of parseTimestamp, to the second for iso). */
export function formatTimestamp(now: number, format: TimestampFormat): string {
  switch (format) {
    case 'iso':
      return new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z')
    case 'unix':
      return String(Math.floor(now / 1000))
    case 'unixMs':
      return String(now)
  }
}
