/**
 * What the provider sandboxes serve for a media download: a small valid PNG, so the local runtime's media
 * copier stores something an integrator can open.
 */
const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** A sandbox's answer to a download: the bytes themselves, served as `image/png`. */
export const sandboxMediaAnswer = (summary: string) => ({
  statusCode: 200,
  body: Buffer.from(PNG_1X1),
  contentType: 'image/png',
  summary,
});
