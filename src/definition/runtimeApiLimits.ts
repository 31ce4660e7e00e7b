// Limits of the Botpress runtime API on what an integration writes (runtime API reference,
// botpress.com/docs/api-reference/runtime-api; contract reference §3.1). The runtime emulator enforces them
// and the integration keeps within them, so a long helpdesk name or id never turns into a 400 loop.

/** Ids of users, conversations, messages and workflows: 28 to 36 characters. */
export const ID_LENGTH = { min: 28, max: 36 } as const
/** User `name`, `integrationName`, conversation `channel`, message and event `type`. */
export const MAX_NAME_LENGTH = 200
/** User `pictureUrl` (data URIs are allowed, hence the size). */
export const MAX_PICTURE_URL_LENGTH = 40_000
/** Every tag value; also `additionalData` of the hitl interface 2.1.0, which the plugin copies into a tag. */
export const MAX_TAG_VALUE_LENGTH = 500
