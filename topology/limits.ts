/** Limits the handlers enforce, apart from the rest of the topology so a handler does not bundle the whole declaration. */

/** Largest webhook body accepted, in bytes; larger ones are answered 413. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
