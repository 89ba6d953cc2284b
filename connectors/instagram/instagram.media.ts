/** Instagram attachments are downloaded from the URL the webhook gave, like every Meta messaging attachment. */
import { downloadMetaAttachment } from '../meta/meta.media.ts';

export const downloadInstagramMedia = downloadMetaAttachment('Instagram attachment');
