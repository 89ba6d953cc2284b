import { describe, expect, it } from 'vitest';
import { shorten, splitTail, splitText, utf8Length } from '../../connectors/text.ts';

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
      expect(
        parts.some((part) => part.includes(cluster)),
        cluster,
      ).toBe(true);
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
      expect(
        cut.some((part) => part.includes(cluster)),
        cluster,
      ).toBe(true);
    }
  });

  it('cuts a single grapheme longer than the limit between code points', () => {
    const family = '👩‍👩‍👧‍👦';
    const parts = splitText(family, 4);
    expect(parts.join('')).toBe(family);
    expect(parts.every((part) => part.length <= 4 && part.length > 0)).toBe(true);
  });

  it('sends an empty text as one empty part', () => {
    expect(splitText('', 10)).toEqual(['']);
  });

  it('keeps a text of exactly the limit whole, even with a space in it', () => {
    expect(splitText('aaaaaa bbb', 10)).toEqual(['aaaaaa bbb']);
  });

  it('cuts at a line break in the second half rather than at a later space', () => {
    expect(splitText('aaaaa\nbb cccccc', 10)).toEqual(['aaaaa', 'bb cccccc']);
  });

  it('cuts at a space exactly halfway through the part', () => {
    expect(splitText('aaaaa bbbbbbbbbb', 10)).toEqual(['aaaaa', 'bbbbbbbbbb']);
  });

  it('cuts a long grapheme after as many whole code points as fit, each part one or more of them', () => {
    expect(splitText('👩‍👩‍👧‍👦', 4)).toEqual(['👩\u200d', '👩\u200d', '👧\u200d', '👦']);
    // A limit below one code point still sends each code point whole.
    expect(splitText('😀😀', 1)).toEqual(['😀', '😀']);
  });

  it('cuts at whitespace just past the part, dropping it', () => {
    expect(splitText(`${'a'.repeat(12)} bbb`, 12)).toEqual(['a'.repeat(12), 'bbb']);
    expect(splitText(`${'a'.repeat(12)}\nbbb`, 12)).toEqual(['a'.repeat(12), 'bbb']);
  });
});

describe('splitTail', () => {
  it('leaves a text within the limit whole, as the tail', () => {
    expect(splitTail('Pick one', 8)).toEqual({ head: '', tail: 'Pick one' });
  });

  it('takes the longest end that starts after a line break, dropping the break', () => {
    const text = `${'a'.repeat(30)}\nFirst line of the end\nPick one`;
    expect(splitTail(text, 30)).toEqual({ head: `${'a'.repeat(30)}`, tail: 'First line of the end\nPick one' });
    // Blank lines between the parts are dropped too.
    expect(splitTail(`${'a'.repeat(30)}\n\nPick one`, 12)).toEqual({ head: 'a'.repeat(30), tail: 'Pick one' });
  });

  it('else starts the tail at a sentence, not at the last word of one', () => {
    const text = 'Your order A-1029 has shipped. It arrives tomorrow. What would you like to do?';
    expect(splitTail(text, 50)).toEqual({
      head: 'Your order A-1029 has shipped.',
      tail: 'It arrives tomorrow. What would you like to do?',
    });
    expect(splitTail('注文を発送しました。明日届きます。どうしますか？', 14)).toEqual({
      head: '注文を発送しました。',
      tail: '明日届きます。どうしますか？',
    });
  });

  it('else after a space, else at a grapheme boundary, never inside one', () => {
    expect(splitTail('aaaaaaaaaa bbbbb ccccc', 12)).toEqual({ head: 'aaaaaaaaaa', tail: 'bbbbb ccccc' });
    // The earliest start falls inside the emoji: the tail starts after it.
    expect(splitTail(`${'x'.repeat(10)}😀${'y'.repeat(9)}`, 10)).toEqual({ head: `${'x'.repeat(10)}😀`, tail: 'y'.repeat(9) });
    expect(splitTail(`${'x'.repeat(10)}👩‍👩‍👧‍👦y`, 10)).toEqual({ head: `${'x'.repeat(10)}👩‍👩‍👧‍👦`, tail: 'y' });
  });

  it('skips a line break or a sentence end with nothing after it, taking the tail from a space', () => {
    expect(splitTail(`${'a'.repeat(20)} bbbb.\n`, 10)).toEqual({ head: 'a'.repeat(20), tail: 'bbbb.\n' });
  });

  it('with no break to start at, takes exactly the last `max` characters', () => {
    expect(splitTail('x'.repeat(15), 10)).toEqual({ head: 'x'.repeat(5), tail: 'x'.repeat(10) });
  });

  it('cuts a last grapheme longer than the limit after a whole surrogate pair', () => {
    const family = '👩‍👩‍👧‍👦';
    const rest = family.slice(2);
    // At 10 the earliest start falls between the halves of the first 👩; at 9 right after it.
    expect(splitTail(`ab${family}`, 10)).toEqual({ head: 'ab👩', tail: rest });
    expect(splitTail(`ab${family}`, 9)).toEqual({ head: 'ab👩', tail: rest });
  });

  it('keeps every tail within the limit, whatever the text', () => {
    const texts = [
      'word '.repeat(100),
      `${'가'.repeat(500)}. ${'나'.repeat(80)}`,
      `${'\n'.repeat(5)}${'z'.repeat(300)}`,
      '👩‍👩‍👧‍👦'.repeat(40),
    ];
    for (const text of texts) {
      const { head, tail } = splitTail(text, 160);
      expect(tail.length).toBeGreaterThan(0);
      expect(tail.length).toBeLessThanOrEqual(160);
      expect(text.startsWith(head)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
    }
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

  it('drops a high surrogate at the cut, whichever one (U+D800…U+DBFF), and keeps any other character', () => {
    expect(shorten('abcd\uD800\uDC00xyz', 6)).toBe('abcd…');
    expect(shorten('abcd\uDBFF\uDFFFxyz', 6)).toBe('abcd…');
    expect(shorten('abcdｱxyz', 6)).toBe('abcdｱ…');
  });
});
