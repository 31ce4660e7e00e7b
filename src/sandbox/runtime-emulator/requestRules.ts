// The runtime API's rules for request bodies, checked before any route reads them: no field the operation does
// not define (the API's bodies are `additionalProperties: false`), required fields present, string lengths
// and id formats within the API's limits. A breach is 400 InvalidPayload, as from the real API.
//
// Field names come from @botpress/client 1.35's own request types: each table below must list exactly the
// body fields of its operation (a field added to or removed from the client breaks type-checking here).
// Limits: src/definition/runtimeApiLimits.ts (shared with the integration, which keeps within them).
import type { ClientInputs } from '@botpress/client'
import { invalidPayload } from './errors'
import { isObject } from './input'
import { ID_LENGTH, MAX_NAME_LENGTH, MAX_PICTURE_URL_LENGTH, MAX_TAG_VALUE_LENGTH } from '../../definition/runtimeApiLimits'

/** A tags field: value lengths checked; with a scope, its names must be declared by the calling integration. */
type TagScope = 'user' | 'conversation' | 'message'
type FieldRule = { required?: boolean; maxLength?: number; id?: boolean; tags?: true | TagScope }

/**
 * Tag names an integration declared (`user.tags`, `channels.*.conversation.tags`, `channels.*.message.tags`):
 * the API refuses others from that integration. Bot callers are not checked (their tags are the bot's).
 */
export type DeclaredTags = Record<TagScope, string[]>

/** The tags an IntegrationDefinition declares, for `RuntimeEmulatorOptions.integrationTags`. */
export function declaredTagsOf(definition: {
  user?: { tags?: Record<string, unknown> }
  channels?: Record<string, { conversation?: { tags?: Record<string, unknown> }; message?: { tags?: Record<string, unknown> } }>
}): DeclaredTags {
  const channels = Object.values(definition.channels ?? {})
  return {
    user: Object.keys(definition.user?.tags ?? {}),
    conversation: [...new Set(channels.flatMap((c) => Object.keys(c.conversation?.tags ?? {})))],
    message: [...new Set(channels.flatMap((c) => Object.keys(c.message?.tags ?? {})))],
  }
}

type Op = keyof ClientInputs
/** Every body field of `K` (path parameters `P` excluded), each with its rule. */
type BodyRules<K extends Op, P extends keyof ClientInputs[K] = never> = { [F in Exclude<keyof ClientInputs[K], P>]-?: FieldRule }
/** `rules<'op'>()({...})`: the table must name every body field of the operation and nothing else. */
const rules =
  <K extends Op, P extends keyof ClientInputs[K] = never>() =>
  <R extends BodyRules<K, P>>(table: R & { [X in Exclude<keyof R, keyof BodyRules<K, P>>]: never }): Record<string, FieldRule> =>
    table

/** Longest file key accepted here: the API documents none; S3 object keys (where files live) stop at 1024 bytes. */
const MAX_FILE_KEY_LENGTH = 1024

const tags: FieldRule = { tags: true }
const userTags: FieldRule = { tags: 'user' }
const conversationTags: FieldRule = { tags: 'conversation' }
const messageTags: FieldRule = { tags: 'message' }
const name: FieldRule = { maxLength: MAX_NAME_LENGTH }
const id: FieldRule = { id: true }
const requiredId: FieldRule = { required: true, id: true }
const any: FieldRule = {}
const required: FieldRule = { required: true }

const userBody = { tags: { ...userTags, required: true }, integrationName: name, name, pictureUrl: { maxLength: MAX_PICTURE_URL_LENGTH }, attributes: tags }
const messageBody = {
  payload: required,
  userId: requiredId,
  conversationId: requiredId,
  type: { required: true, maxLength: MAX_NAME_LENGTH },
  tags: { ...messageTags, required: true },
  schedule: any,
  origin: any,
}
const conversationBody = { channel: { required: true, maxLength: MAX_NAME_LENGTH }, tags: { ...conversationTags, required: true }, integrationName: name }
type StateParams = 'type' | 'id' | 'name'

const createUser = rules<'createUser'>()(userBody)
const getOrCreateUser = rules<'getOrCreateUser'>()({ ...userBody, discriminateByTags: any })
const updateUser = rules<'updateUser', 'id'>()({ tags: userTags, name, pictureUrl: { maxLength: MAX_PICTURE_URL_LENGTH }, attributes: tags })
const createConversation = rules<'createConversation'>()(conversationBody)
const getOrCreateConversation = rules<'getOrCreateConversation'>()({ ...conversationBody, discriminateByTags: any })
const updateConversation = rules<'updateConversation', 'id'>()({ currentTaskId: any, tags: conversationTags })
const createMessage = rules<'createMessage'>()(messageBody)
const getOrCreateMessage = rules<'getOrCreateMessage'>()({ ...messageBody, discriminateByTags: any })
const updateMessage = rules<'updateMessage', 'id'>()({ tags: { ...messageTags, required: true }, payload: any })
const createEvent = rules<'createEvent'>()({
  type: { required: true, maxLength: MAX_NAME_LENGTH },
  payload: required,
  schedule: any,
  conversationId: id,
  userId: id,
  workflowId: id,
  messageId: id,
})
const setState = rules<'setState', StateParams>()({ payload: required, expiry: any })
const getOrSetState = rules<'getOrSetState', StateParams>()({ payload: required, expiry: any })
const patchState = rules<'patchState', StateParams>()({ payload: required })
const setStateExpiry = rules<'setStateExpiry', StateParams>()({ expiry: required })
const upsertFile = rules<'upsertFile'>()({
  key: { required: true, maxLength: MAX_FILE_KEY_LENGTH },
  size: required,
  tags,
  index: any,
  indexing: any,
  accessPolicies: any,
  contentType: any,
  expiresAt: any,
  publicContentImmediatelyAccessible: any,
  metadata: any,
})
const configureIntegration = rules<'configureIntegration'>()({ identifier: any, scheduleRegisterCall: any, sandboxIdentifiers: any })

/** Operations with a JSON body; the others (GET, DELETE) take none. */
const RULES: Partial<Record<Op, Record<string, FieldRule>>> = {
  createUser,
  getOrCreateUser,
  updateUser,
  createConversation,
  getOrCreateConversation,
  updateConversation,
  createMessage,
  getOrCreateMessage,
  updateMessage,
  createEvent,
  setState,
  getOrSetState,
  patchState,
  setStateExpiry,
  configureIntegration,
  upsertFile,
}

const checkLength = (field: string, value: unknown, max: number) => {
  if (typeof value === 'string' && value.length > max) throw invalidPayload(`"${field}" must be at most ${max} characters (got ${value.length})`)
}

/**
 * Throws 400 InvalidPayload when the body of `op` breaks one of the API's rules. `declared`: the tags the
 * calling integration declared, when known (unknown tag names are then refused too).
 */
export function checkRequestBody(op: Op, body: Record<string, unknown>, declared?: DeclaredTags): void {
  const rules = RULES[op]
  if (!rules) return
  for (const field of Object.keys(body)) {
    if (!(field in rules)) throw invalidPayload(`"${field}" is not a field of ${op}; allowed: ${Object.keys(rules).join(', ')}`)
  }
  for (const [field, rule] of Object.entries(rules)) {
    const value = body[field]
    if (value === undefined) {
      if (rule.required) throw invalidPayload(`"${field}" is required`)
      continue
    }
    if (rule.maxLength !== undefined) checkLength(field, value, rule.maxLength)
    if (rule.id && typeof value === 'string' && (value.length < ID_LENGTH.min || value.length > ID_LENGTH.max))
      throw invalidPayload(`"${field}" must be an id of ${ID_LENGTH.min} to ${ID_LENGTH.max} characters (got "${value.slice(0, 40)}")`)
    if (!rule.tags || !isObject(value)) continue
    for (const [k, v] of Object.entries(value)) {
      checkLength(`${field}.${k}`, v, MAX_TAG_VALUE_LENGTH)
      if (declared && rule.tags !== true && !declared[rule.tags].includes(k))
        throw invalidPayload(`tag "${k}" is not a ${rule.tags} tag of this integration; declared: ${declared[rule.tags].join(', ') || '(none)'}`)
    }
  }
}
