import { describe, expect, it } from 'vitest';
import { shorten, splitText, utf8Length } from '../../connectors/text.ts';

describe('splitText', () => {
  it('leaves a text within the limit whole', () => {
    expect(splitText('short', 10)).toEqual(['short']);
    expect(splitText('x'.repeat(10), 10)).toEqual(['x'.repeat(10)]);
  });

  it('prefers a line break, then a space, dropping the break', () => {
    expect(splitText('aaaaaa bb\ncccc dddd', 12)).toEqual(['aaaaaa bb', 'cccc dddd']);
    expect(splitText('aaaaaa bbbb cccc', 12)).toEqual(['aaaaaa bbbb', 'cccc']);
  });

  it('does not make a tiny first part to reach an early break', () => {
    expect(splitText(`a\n${'b'.repeat(20)}`, 10)).toEqual([`a\n${'b'.repeat(8)}`, 'b'.repeat(10), 'b'.repeat(2)]);
  });

  it('never splits a grapheme: surrogate pairs, flags, ZWJ families, combining accents', () => {
    for (const cluster of ['😀', '🇰🇷', '👩‍👩‍👧‍👦', 'e\u0301']) {
      const text = `${'x'.repeat(11)}${cluster}${'y'.repeat(5)}`;
      const parts = splitText(text, 12);
      expect(parts.join('')).toBe(text);
      expect(parts.every((part) => part.length <= 12)).toBe(true);
      expect(parts.some((part) => part.includes(cluster)), cluster).toBe(true);
    }
  });

  it('measures in UTF-8 bytes when asked, never cutting a grapheme', () => {
    const text = '안녕하세요 '.repeat(100);
    const parts = splitText(text, 100, utf8Length);
    expect(parts.every((part) => utf8Length(part) <= 100)).toBe(true);
    expect(parts.join(' ').replace(/\s+/g, ' ').trim()).toBe(text.trim());
    for (const cluster of ['😀', '🇰🇷', '👩‍👩‍👧‍👦', 'e\u0301']) {
      const sample = `${'x'.repeat(11)}${cluster}${'y'.repeat(5)}`;
      const cut = splitText(sample, 12);
      expect(cut.join('')).toBe(sample);
      expect(cut.some((part) => part.includes(cluster)), cluster).toBe(true);
    }
  });

  it('cuts a single grapheme longer than the limit between code points', () => {
    const family = '👩‍👩‍👧‍👦';
    const parts = splitText(family, 4);
    expect(parts.join('')).toBe(family);
    expect(parts.every((part) => part.length <= 4 && part.length > 0)).toBe(true);
  });

  it('cuts at whitespace just past the part, dropping it', () => {
    expect(splitText(`${'a'.repeat(12)} bbb`, 12)).toEqual(['a'.repeat(12), 'bbb']);
    expect(splitText(`${'a'.repeat(12)}\nbbb`, 12)).toEqual(['a'.repeat(12), 'bbb']);
  });
});

describe('shorten', () => {
  it('leaves a label within the limit alone', () => {
    expect(shorten('abc', 3)).toBe('abc');
  });

  it('ends a longer label with an ellipsis within the limit, keeping surrogate pairs whole', () => {
    expect(shorten('abcdef', 4)).toBe('abc…');
    const shortened = shorten('ab😀cd', 4);
    expect(shortened).toBe('ab…');
    expect(shortened.length).toBeLessThanOrEqual(4);
  });
});
