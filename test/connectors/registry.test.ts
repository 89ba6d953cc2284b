import { describe, expect, it } from 'vitest';
import { connectors, getConnector } from '../../connectors/registry.ts';
import { telegramConnector } from '../../connectors/telegram/index.ts';
import { existsSync } from 'node:fs';
import { ENABLED_CHANNELS, FUNCTIONS, MEDIA_CHANNELS } from '../../topology/topology.ts';

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

  it('gives a media copier to exactly the channels whose connector can download media', () => {
    const downloading = ENABLED_CHANNELS.filter((channel) => connectors[channel].downloadMedia !== undefined);
    expect([...MEDIA_CHANNELS].sort()).toEqual([...downloading].sort());
  });

  it("binds each per-channel function entry to that channel's connector", async () => {
    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      expect(existsSync(new URL(`../../${spec.entry}`, import.meta.url)), spec.entry).toBe(true);
      const channel = /^(?:webhook|sender|media-copier)-(.+)$/.exec(name)?.[1];
      // Per-channel entries only (the webhook dispatcher is one function for every subscription).
      if (channel === undefined || !(channel in connectors)) continue;
      expect(spec.entry, name).toMatch(new RegExp(`/${channel}\\.ts$`));
    }
  });
});
