/** Construct ids from topology names: `webhook-telegram` → `WebhookTelegram`, `to-thread-writer` → `ToThreadWriter`. */
export const pascalCase = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
