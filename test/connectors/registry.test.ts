import { describe, expect, it } from 'vitest';
import { connectors, getConnector } from '../../connectors/registry.ts';
import { telegramConnector } from '../../connectors/telegram/index.ts';
import { ENABLED_CHANNELS } from '../../topology/topology.ts';

describe('connector registry', () => {
  it('finds a connector by channel', () => {
    expect(getConnector('telegram')).toBe(telegramConnector);
  });

  it('has no connector for unknown names, including inherited object keys', () => {
    for (const name of ['nope', 'Telegram', 'toString', '__proto__', 'constructor', '']) expect(getConnector(name), name).toBeUndefined();
  });

  it('keys every connector by its own channel, and has one for every enabled channel', () => {
    for (const [channel, connector] of Object.entries(connectors)) expect(connector.channel).toBe(channel);
    for (const channel of ENABLED_CHANNELS) expect(getConnector(channel), channel).toBeDefined();
  });
});
