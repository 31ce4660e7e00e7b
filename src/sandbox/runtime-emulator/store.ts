// In-memory records of the emulated runtime API, plus the rules shared by every resource: ids, bot scoping,
// tag matching/merging, ordering and pagination, state expiry.
import { randomBytes } from 'node:crypto'
import type { ClientOutputs, Conversation, Event, Message, State, User } from '@botpress/client'
import { ApiFailure, notFound } from './errors'
import type { Tags } from './input'

export type StateType = State['type']
export const STATE_TYPES: readonly StateType[] = ['conversation', 'user', 'bot', 'integration', 'task', 'workflow']

/** A state plus its idle expiry: `expiresAt` moves forward on every write (the API expires idle states). */
export type StoredState = { state: State; expiry: number | null; expiresAt: number | null }

export type EmulatorData = {
  users: Map<string, User>
  conversations: Map<string, Conversation>
  messages: Map<string, Message>
  events: Map<string, Event>
  /** Keyed by `stateKey(botId, type, id, name)`. */
  states: Map<string, StoredState>
  /** Files by id (upsertFile), with their bytes once uploaded to the emulator's file host. */
  files: Map<string, StoredFile>
}

/** A file of the Files API as upsertFile answers it (`uploadUrl` included: it is valid until replaced). */
export type BotFile = ClientOutputs['upsertFile']['file']
/** `content`: the uploaded bytes (absent while `upload_pending`); `uploadToken`: the secret in `uploadUrl`. */
export type StoredFile = { file: BotFile; uploadToken: string; content?: Buffer }

type RecordOf = { users: User; conversations: Conversation; messages: Message; events: Event }
type Kind = keyof RecordOf
const LABEL: Record<Kind, string> = { users: 'User', conversations: 'Conversation', messages: 'Message', events: 'Event' }

export const stateKey = (botId: string, type: string, id: string, name: string) => `${botId}/${type}/${id}/${name}`

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** `prefix` + a 26-char ULID (time-ordered, Crockford base32), e.g. `conv_01JD5...`: 28–36 chars like real ids. */
export const newId = (prefix: string): string => {
  let time = Date.now()
  let t = ''
  for (let i = 0; i < 10; i++) {
    t = CROCKFORD[time % 32] + t
    time = Math.floor(time / 32)
  }
  const r = [...randomBytes(16)].map((b) => CROCKFORD[b % 32]).join('')
  return `${prefix}_${t}${r}`
}

export const now = () => new Date().toISOString()

/** Tags as stored on create: empty values mean "no tag". */
export const cleanTags = (tags: Tags): Tags => Object.fromEntries(Object.entries(tags).filter(([, v]) => v !== ''))

/** Update semantics of the API: given keys overwrite, an empty value unsets the key. */
export const mergeTags = (current: Tags, patch: Tags): Tags => {
  const out = { ...current }
  for (const [k, v] of Object.entries(patch)) {
    if (v === '') delete out[k]
    else out[k] = v
  }
  return out
}

/**
 * get-or-create matching: the listed `discriminateByTags` (default: every given tag) must all be equal.
 * With nothing to compare, nothing matches, so an empty tag set always creates.
 */
export const tagsMatch = (recordTags: Tags, wanted: Tags, discriminateByTags?: string[]): boolean => {
  const keys = discriminateByTags ?? Object.keys(wanted)
  return keys.length > 0 && keys.every((k) => (recordTags[k] ?? '') === (wanted[k] ?? ''))
}

/** list filters: every given tag must be equal (an empty filter value means "tag absent"). */
export const tagsFilter = (recordTags: Tags, filter: Tags | undefined): boolean =>
  !filter || Object.entries(filter).every(([k, v]) => (recordTags[k] ?? '') === v)

export type Page<T> = { items: T[]; nextToken?: string }

/** Offset pagination behind an opaque token, like the API's `meta.nextToken`. */
export const paginate = <T>(items: T[], nextToken: string | undefined, pageSize: number): Page<T> => {
  let offset = 0
  if (nextToken !== undefined) {
    offset = Number(Buffer.from(nextToken, 'base64url').toString())
    if (!Number.isInteger(offset) || offset < 0) throw new ApiFailure('InvalidQuery', 'invalid nextToken')
  }
  const end = offset + pageSize
  return {
    items: items.slice(offset, end),
    nextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  }
}

/** Sort by an ISO date field; ties keep creation order (newest-first when descending, like the API lists). */
export const sortByDate = <T>(items: T[], field: (t: T) => string, direction: 'asc' | 'desc'): T[] => {
  const sorted = [...items].sort((a, b) => field(a).localeCompare(field(b)))
  return direction === 'desc' ? sorted.reverse() : sorted
}

export const inDateRange = (value: string, after?: string, before?: string) =>
  (after === undefined || Date.parse(value) > Date.parse(after)) && (before === undefined || Date.parse(value) < Date.parse(before))

export class Store {
  readonly data: EmulatorData = {
    users: new Map(),
    conversations: new Map(),
    messages: new Map(),
    events: new Map(),
    states: new Map(),
    files: new Map(),
  }
  /** record id → `x-bot-id` of its creator: every read is scoped to the caller's bot. */
  private readonly botOf = new Map<string, string>()
  /** user id → integration that created it: users are matched per integration, like conversations. */
  readonly userIntegration = new Map<string, string>()
  /** conversation id → ids of users who wrote in it (the API's participants). */
  readonly participants = new Map<string, Set<string>>()

  private map<K extends Kind>(kind: K): Map<string, RecordOf[K]> {
    return this.data[kind] as Map<string, RecordOf[K]>
  }

  add<K extends Kind>(kind: K, record: RecordOf[K], botId: string): RecordOf[K] {
    this.map(kind).set(record.id, record)
    this.botOf.set(record.id, botId)
    return record
  }

  /** Records of `kind` visible to `botId`, in creation order. */
  all<K extends Kind>(kind: K, botId: string): RecordOf[K][] {
    return [...this.map(kind).values()].filter((r) => this.botOf.get(r.id) === botId)
  }

  find<K extends Kind>(kind: K, id: string, botId: string): RecordOf[K] | undefined {
    const record = this.map(kind).get(id)
    return record !== undefined && this.botOf.get(id) === botId ? record : undefined
  }

  /** Like `find`, but a missing record (or one of another bot) is the API's 404. */
  get<K extends Kind>(kind: K, id: string, botId: string): RecordOf[K] {
    const record = this.find(kind, id, botId)
    if (record === undefined) throw notFound(`${LABEL[kind]} ${id} not found`)
    return record
  }

  remove(kind: Kind, id: string) {
    this.data[kind].delete(id)
    this.botOf.delete(id)
  }

  addParticipant(conversationId: string, userId: string) {
    const set = this.participants.get(conversationId) ?? new Set<string>()
    set.add(userId)
    this.participants.set(conversationId, set)
  }

  /** The stored state if it exists and has not been idle longer than its expiry; expired ones are dropped. */
  liveState(key: string): StoredState | undefined {
    const entry = this.data.states.get(key)
    if (entry && entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      this.data.states.delete(key)
      return undefined
    }
    return entry
  }
}
