import { timingSafeEqual } from 'node:crypto'

/** Constant-time comparison that does not throw on different lengths (a wrong length is just a mismatch). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  if (x.length !== y.length) {
    timingSafeEqual(x, x) // keep the timing independent of where the mismatch is
    return false
  }
  return timingSafeEqual(x, y)
}
