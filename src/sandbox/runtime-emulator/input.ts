// Reading and checking request input: the query string (qs `allowDots` + `arrayFormat: repeat`, as the client
// encodes it) and JSON bodies. Anything malformed becomes 400 InvalidPayload / InvalidQuery, like the API.
import { ApiFailure, invalidPayload } from './errors'

export type Tags = Record<string, string>
export type Query = Record<string, string | string[]>
type Obj = Record<string, unknown>

/** `?tags.id=T%201&participantIds=a&participantIds=b` → `{ 'tags.id': 'T 1', participantIds: ['a', 'b'] }`. */
export const parseQuery = (search: string): Query => {
  const out: Query = {}
  for (const [key, value] of new URLSearchParams(search)) {
    const prev = out[key]
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  return out
}

const invalidQuery = (message: string) => new ApiFailure('InvalidQuery', message)

export const queryString = (q: Query, key: string): string | undefined => {
  const v = q[key]
  if (v === undefined) return undefined
  if (Array.isArray(v)) throw invalidQuery(`query parameter "${key}" must be given once`)
  return v
}

export const queryEnum = <T extends string>(q: Query, key: string, allowed: readonly T[]): T | undefined => {
  const v = queryString(q, key)
  if (v === undefined) return undefined
  if (!(allowed as readonly string[]).includes(v)) throw invalidQuery(`query parameter "${key}" must be one of ${allowed.join(', ')}`)
  return v as T
}

export const queryArray = (q: Query, key: string): string[] | undefined => {
  const v = q[key]
  return v === undefined ? undefined : Array.isArray(v) ? v : [v]
}

/** `tags.<name>=<value>` pairs; a tag name may itself contain dots (everything after the first one). */
export const queryTags = (q: Query): Tags | undefined => {
  let tags: Tags | undefined
  for (const key of Object.keys(q)) {
    if (!key.startsWith('tags.')) continue
    tags ??= {}
    tags[key.slice('tags.'.length)] = queryString(q, key)!
  }
  return tags
}

export const queryDate = (q: Query, key: string): string | undefined => {
  const v = queryString(q, key)
  if (v !== undefined && Number.isNaN(Date.parse(v))) throw invalidQuery(`query parameter "${key}" must be an ISO date`)
  return v
}

// --- bodies -------------------------------------------------------------------------------------------------

export const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

export const reqString = (b: Obj, key: string): string => {
  const v = b[key]
  if (typeof v !== 'string' || v === '') throw invalidPayload(`"${key}" is required and must be a non-empty string`)
  return v
}

export const optString = (b: Obj, key: string): string | undefined => {
  const v = b[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw invalidPayload(`"${key}" must be a string`)
  return v
}

export const optNullableString = (b: Obj, key: string): string | null | undefined => (b[key] === null ? null : optString(b, key))

export const optEnum = <T extends string>(b: Obj, key: string, allowed: readonly T[]): T | undefined => {
  const v = optString(b, key)
  if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw invalidPayload(`"${key}" must be one of ${allowed.join(', ')}`)
  return v as T | undefined
}

export const reqObject = (b: Obj, key: string): Obj => {
  const v = b[key]
  if (!isObject(v)) throw invalidPayload(`"${key}" is required and must be an object`)
  return v
}

export const optObject = (b: Obj, key: string): Obj | undefined => (b[key] === undefined ? undefined : reqObject(b, key))

export const optNullableObject = (b: Obj, key: string): Obj | null | undefined => (b[key] === null ? null : optObject(b, key))

/** Expiry in ms; `null` clears it. */
export const optExpiry = (b: Obj, key: string): number | null | undefined => {
  const v = b[key]
  if (v === undefined || v === null) return v
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidPayload(`"${key}" must be a non-negative number of milliseconds`)
  return v
}

export const optStringArray = (b: Obj, key: string): string[] | undefined => {
  const v = b[key]
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidPayload(`"${key}" must be an array of strings`)
  return v as string[]
}

const checkTags = (key: string, v: unknown, nullable: boolean): Record<string, string | null> => {
  if (!isObject(v)) throw invalidPayload(`"${key}" must be an object of strings`)
  for (const [k, value] of Object.entries(v)) {
    if (value === null && nullable) continue
    // Lengths are checked with the other API limits in requestRules.ts.
    if (typeof value !== 'string') throw invalidPayload(`"${key}.${k}" must be a string`)
  }
  return v as Record<string, string | null>
}

export const reqTags = (b: Obj, key: string): Tags => {
  if (b[key] === undefined) throw invalidPayload(`"${key}" is required`)
  return checkTags(key, b[key], false) as Tags
}

export const optTags = (b: Obj, key: string): Tags | undefined => (b[key] === undefined ? undefined : reqTags(b, key))

/** User attributes: like tags, but `null` removes a key on update. */
export const optAttributes = (b: Obj, key: string): Record<string, string | null> | undefined =>
  b[key] === undefined ? undefined : checkTags(key, b[key], true)

export const optSchedule = (b: Obj, key: string): { dateTime?: string; delay?: number } | undefined => {
  const s = optObject(b, key)
  if (!s) return undefined
  const delay = s.delay
  if (delay !== undefined && (typeof delay !== 'number' || delay < 0)) throw invalidPayload(`"${key}.delay" must be a number`)
  return { dateTime: optString(s, 'dateTime'), delay: delay as number | undefined }
}
