/**
 * The template registry: message templates a provider approved beforehand (WhatsApp's), with the placeholders
 * each component takes, per channel account. Kept in sync with the provider where the account's credentials
 * allow (the connector reads the provider's list), or registered through the API. A template message is
 * checked against it before it is queued: an unknown template goes to the provider as it is (the registry may
 * not be synced), but a known one must be approved and get exactly the parameters it takes.
 * @see https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
 */
import type { OutboundContent } from '../content.ts';
import type { Template } from './model.ts';

export { TEMPLATE_BUTTON_TYPES, TEMPLATE_CATEGORIES, TEMPLATE_STATES, TemplateSchema } from './model.ts';
export type { Template } from './model.ts';

type TemplateContent = Extract<OutboundContent, { type: 'template' }>;

/** The placeholders `{{1}}`, `{{2}}`… or `{{name}}` of a template text, in order of first appearance. */
export const placeholdersOf = (text: string): { readonly positional: number; readonly named: readonly string[] } => {
  const seen = [...text.matchAll(/\{\{\s*([a-z0-9_]+)\s*\}\}/g)].map((m) => m[1] as string);
  const numbers = seen.filter((s) => /^\d+$/.test(s)).map(Number);
  return { positional: numbers.length === 0 ? 0 : Math.max(...numbers), named: [...new Set(seen.filter((s) => !/^\d+$/.test(s)))] };
};

/** What is wrong with a template message against its registered template; empty when nothing is. */
export const templateProblems = (template: Template, content: TemplateContent): string[] => {
  const problems: string[] = [];
  const name = `${template.name} (${template.language})`;
  if (template.status !== 'approved') problems.push(`template ${name} is ${template.status}, not approved`);
  const wantsHeader = template.header !== undefined && template.header.parameters > 0;
  if (wantsHeader && content.header === undefined)
    problems.push(`template ${name} has a ${template.header?.format} header that takes a parameter`);
  if (!wantsHeader && content.header !== undefined) problems.push(`template ${name} has no header parameter`);
  if (wantsHeader && content.header !== undefined) {
    const media = template.header?.format === 'text' ? 'text' : 'media';
    if ((content.header.type === 'text') !== (media === 'text'))
      problems.push(`template ${name}'s header takes ${media === 'text' ? 'a text' : `an ${template.header?.format}`} parameter`);
  }
  const body = content.body;
  if (template.body.kind === 'positional') {
    const given = Array.isArray(body) ? body.length : body === undefined ? 0 : -1;
    if (given === -1) problems.push(`template ${name}'s body takes positional parameters ({{1}}…), not named ones`);
    else if (given !== template.body.count)
      problems.push(`template ${name}'s body takes ${template.body.count} parameter(s), ${given} given`);
  } else {
    const names = template.body.names;
    if (Array.isArray(body)) problems.push(`template ${name}'s body takes named parameters (${names.join(', ')}), not positional ones`);
    else {
      const given = Object.keys(body ?? {});
      const missing = names.filter((n) => !given.includes(n));
      const unknown = given.filter((n) => !names.includes(n));
      if (missing.length > 0) problems.push(`template ${name}'s body needs ${missing.join(', ')}`);
      if (unknown.length > 0) problems.push(`template ${name}'s body has no parameter ${unknown.join(', ')}`);
    }
  }
  for (const button of content.buttons ?? []) {
    const declared = template.buttons.find((b) => b.index === button.index);
    if (!declared) {
      problems.push(`template ${name} has no button ${button.index}`);
      continue;
    }
    if (button.urlSuffix !== undefined && !(declared.type === 'url' && declared.dynamic))
      problems.push(`template ${name}'s button ${button.index} takes no URL suffix`);
    if (button.payload !== undefined && declared.type !== 'quick_reply')
      problems.push(`template ${name}'s button ${button.index} is not a quick reply`);
  }
  for (const declared of template.buttons.filter((b) => b.type === 'url' && b.dynamic)) {
    if (!(content.buttons ?? []).some((b) => b.index === declared.index && b.urlSuffix !== undefined)) {
      problems.push(`template ${name}'s button ${declared.index} needs a urlSuffix`);
    }
  }
  return problems;
};
