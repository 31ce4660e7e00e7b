// Limits on what one webhook delivery may cost. Anyone who knows the webhook URL can send a request, and
// some of these checks run before the signature is verified, so each bounds work an attacker controls.

/** Default of `webhook.maxBodyBytes`: real helpdesk deliveries are a few KB; 1 MB leaves room for long transcripts. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/** Fields of a form-encoded body: real form webhooks carry a few dozen; more is an attack on the parser. */
export const MAX_FORM_FIELDS = 1000

/** Nesting of a JSON body: vendor payloads nest under 10 levels; deeper input only costs the expressions reading it. */
export const MAX_JSON_DEPTH = 64

/**
 * Events one delivery may produce (after `forEach` and the rules' `forEach`): vendors batch at most a few dozen;
 * each event costs several Botpress writes, so one signed delivery must not fan out without bound.
 * Over it the delivery is refused whole (413) before anything is done.
 */
export const MAX_EVENTS_PER_DELIVERY = 100
