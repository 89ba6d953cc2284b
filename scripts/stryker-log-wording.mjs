/**
 * Stryker ignorer `log-wording`: skips the message string of a log call (`log.info('…')`,
 * `deps.log.warn('…')`), whose wording no user relies on. Only that first string literal is skipped; the
 * call itself and its structured fields stay mutated, so dropping a log line or a field still counts.
 */
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/** @param {import('@babel/core').NodePath} path */
function isLogMessage(path) {
  if (!path.isStringLiteral() && !path.isTemplateLiteral()) return false;
  const call = path.parentPath;
  if (!call?.isCallExpression() || call.node.arguments[0] !== path.node) return false;
  const callee = call.node.callee;
  if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') return false;
  if (!LEVELS.has(callee.property.name)) return false;
  const target = callee.object;
  // `log.warn(…)` or `<anything>.log.warn(…)`, `logger.warn(…)`
  if (target.type === 'Identifier') return target.name === 'log' || target.name === 'logger';
  return (
    target.type === 'MemberExpression' &&
    !target.computed &&
    target.property.type === 'Identifier' &&
    (target.property.name === 'log' || target.property.name === 'logger')
  );
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'log-wording', {
    shouldIgnore(path) {
      return isLogMessage(path) ? 'log wording' : undefined;
    },
  }),
];
