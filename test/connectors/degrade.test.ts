/**
 * connectors/degrade.ts on its own: what a customer sees when a channel cannot show buttons or lists
 * natively. The senders' tests show these rewrites on the wire; here each rule's edge (a label of exactly
 * the maximum, a list with one described item among plain ones) is pinned.
 */
import { describe, expect, it } from 'vitest';
import type { Button } from '../../domain/content.ts';
import { buttonsAsQuickReplies, fitsButtons, listAsChoices, listAsQuickReplies, type ListContent } from '../../connectors/degrade.ts';

const track: Button = { type: 'url', text: 'Track it', url: 'https://shop.example/track/A-1029' };
const later: Button = { type: 'postback', text: 'Later', payload: 'LATER' };

describe('buttonsAsQuickReplies', () => {
  it('writes links below the text and offers no quick replies when there is no postback', () => {
    expect(buttonsAsQuickReplies('Your parcel left.', [track])).toEqual({
      text: 'Your parcel left.\n\nTrack it: https://shop.example/track/A-1029',
      quickReplies: undefined,
    });
  });

  it('offers postbacks as quick replies and leaves the text alone when there is no link', () => {
    expect(buttonsAsQuickReplies('Call you?', [later])).toEqual({ text: 'Call you?', quickReplies: [{ text: 'Later', payload: 'LATER' }] });
  });
});

const list = (sections: ListContent['sections']): ListContent => ({ type: 'list', text: 'Pick a slot', sections });

describe('listAsQuickReplies', () => {
  const plain = [
    { title: 'Monday', payload: 'MON' },
    { title: 'Tuesday', payload: 'TUE' },
  ];

  it('offers plain titles as quick replies, a title of exactly the maximum label included', () => {
    expect(listAsQuickReplies(list([{ items: plain }]), 'Tuesday'.length)).toEqual([
      { text: 'Monday', payload: 'MON' },
      { text: 'Tuesday', payload: 'TUE' },
    ]);
  });

  it('refuses when one title of several is longer than the label', () => {
    expect(listAsQuickReplies(list([{ items: plain }]), 'Tuesday'.length - 1)).toBeUndefined();
  });

  it('refuses when one item of several has a description', () => {
    expect(
      listAsQuickReplies(list([{ items: [...plain, { title: 'Friday', description: 'afternoon only', payload: 'FRI' }] }]), 20),
    ).toBeUndefined();
  });

  it('refuses when one section of several has a title, which quick replies would lose', () => {
    expect(
      listAsQuickReplies(list([{ items: plain }, { title: 'Next week', items: [{ title: 'Monday 2', payload: 'MON2' }] }]), 20),
    ).toBeUndefined();
  });

  it('numbers the items when the titles do not say everything', () => {
    expect(listAsChoices(list([{ title: 'This week', items: plain }]), 20)).toEqual({
      text: 'Pick a slot\n\nThis week\n1. Monday\n2. Tuesday',
      quickReplies: [
        { text: '1. Monday', payload: 'MON' },
        { text: '2. Tuesday', payload: 'TUE' },
      ],
    });
  });
});

describe('fitsButtons', () => {
  const limits = { max: 3, maxLabelLength: 8, url: true };
  const fits = () => true;

  it('takes a label of exactly the maximum length, and refuses one character more', () => {
    expect(fitsButtons([{ ...later, text: '12345678' }], limits, fits)).toBe(true);
    expect(fitsButtons([{ ...later, text: '123456789' }], limits, fits)).toBe(false);
  });

  it('refuses links where the channel has no link buttons, and payloads the provider would refuse', () => {
    expect(fitsButtons([track], { ...limits, url: false }, fits)).toBe(false);
    expect(fitsButtons([later], limits, (payload) => payload !== 'LATER')).toBe(false);
    expect(fitsButtons([track, later, later], limits, fits)).toBe(true);
    expect(fitsButtons([track, later, later, later], limits, fits)).toBe(false);
  });
});
