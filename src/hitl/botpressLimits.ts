import { createHash } from 'node:crypto'
import * as sdk from '@botpress/sdk'
import { MAX_NAME_LENGTH, MAX_PICTURE_URL_LENGTH, MAX_TAG_VALUE_LENGTH } from '../definition/runtimeApiLimits'

// What the integration writes to Botpress stays within the runtime API's limits: a long name is cut, an
// over-long picture URL left out, and a helpdesk id too long for a tag either stands in as a hash (where it is
// only a lookup key) or is refused with a message saying why (where it must be sent back to the helpdesk).

/** A display name the API accepts (an ellipsis marks the cut). */
export const fitName = (name: string | undefined): string | undefined =>
  name === undefined || name.length <= MAX_NAME_LENGTH ? name : `${name.slice(0, MAX_NAME_LENGTH - 1)}…`

/** A picture URL the API accepts, else none (a data URI of a large photo, say). */
export const fitPictureUrl = (url: string | undefined): string | undefined => (url && url.length <= MAX_PICTURE_URL_LENGTH ? url : undefined)

/** A tag value that is only ever compared (agent ids, message ids): over the limit, its hash stands in. */
export const tagKey = (value: string): string => (value.length <= MAX_TAG_VALUE_LENGTH ? value : `sha256:${createHash('sha256').update(value).digest('hex')}`)

/** A tag value that is read back and sent to the helpdesk (ticket and user ids): refused when too long. */
export function tagValue(what: string, value: string): string {
  if (value.length <= MAX_TAG_VALUE_LENGTH) return value
  throw new sdk.RuntimeError(
    `${what} "${value.slice(0, 40)}…" is ${value.length} characters long; a Botpress tag holds at most ${MAX_TAG_VALUE_LENGTH}, so it cannot be kept. Make the mapping's result give a shorter id.`,
  )
}
