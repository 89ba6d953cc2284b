/**
 * The local runtime's log: one readable line per entry, so a developer can follow each event from webhook
 * to bus to queue to store. Extra fields are printed as key=value; secrets never reach a log call.
 */
import type { Log } from '../domain/ports.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

const format = (value: unknown): string => {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
};

export const createLocalLog = (
  options: { readonly level?: LogLevel; readonly scope?: string; readonly write?: (line: string) => void } = {},
): Log & { child(scope: string): Log } => {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, extra?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const time = new Date().toISOString().slice(11, 23);
    const fields = Object.entries(extra ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${format(v)}`)
      .join(' ');
    const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
    write(`${time} ${options.scope ? `[${options.scope}] ` : ''}${tag}${message}${fields ? `  ${fields}` : ''}`);
  };
  return {
    debug: (m, e) => emit('debug', m, e),
    info: (m, e) => emit('info', m, e),
    warn: (m, e) => emit('warn', m, e),
    error: (m, e) => emit('error', m, e),
    child: (scope) => createLocalLog({ ...options, scope }),
  };
};
