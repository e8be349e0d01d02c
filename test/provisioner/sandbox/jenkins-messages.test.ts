// The queue's words as Jenkins core words them: Util.getTimeSpanString's units and precision (the
// quiet period's "Expires in"), the German bundle with its fall-back to English, and the request
// locale read from Accept-Language.
import { describe, expect, it } from 'vitest';
import { message, render, requestLocale, timeSpan } from '../../../provisioner/sandbox/src/jenkins-messages.ts';

describe('the words of the queue', () => {
  it('spells a time span as Util.getTimeSpanString does: tenths of a second from 1 s, hundredths from 100 ms, two units while the larger is under ten', () => {
    expect([0, 99, 100, 120, 999, 1000, 4_950, 9_999, 10_000, 59_999].map((ms) => timeSpan(ms, 'en'))).toEqual(['0 ms', '99 ms', '0.1 sec', '0.12 sec', '0.99 sec', '1 sec', '4.9 sec', '9.9 sec', '10 sec', '59 sec']);
    expect([65_000, 600_000, 3_725_000, 86_400_000, 2 * 86_400_000 + 3_600_000, 40 * 86_400_000].map((ms) => timeSpan(ms, 'en'))).toEqual(['1 min 5 sec', '10 min', '1 hr 2 min', '1 day 0 hr', '2 days 1 hr', '1 mo 10 days']);
    expect([4_950, 1000, 120, 65_000].map((ms) => timeSpan(ms, 'de'))).toEqual(['4,9 Sekunden', '1 Sekunde', '0,12 Sekunden', '1 Minute 5 Sekunden']);
  });

  it('words a cause in German where Messages_de has it, and falls back to English where it has not', () => {
    expect(render(message('InQuietPeriod', timeSpan(4_950, 'de')), 'de')).toBe('In Ruhe-Periode. Endet in 4,9 Sekunden');
    expect(render(message('InQuietPeriod', timeSpan(4_950, 'en')), 'en')).toBe('In the quiet period. Expires in 4.9 sec');
    expect(render(message('LabelMissing', 'n', 'docker'), 'en')).toBe('‘n’ doesn’t have label ‘docker’');
    expect(render(message('NodeOffline', 'n'), 'de')).toBe('n ist offline');
    expect(render(message('FinishedWaiting'), 'de')).toBe('Finished waiting');
  });

  it('takes the request locale from the Accept-Language range of highest quality, English without one', () => {
    expect([undefined, '', 'en', 'de', 'de-AT', 'fr, de;q=0.9', 'en;q=0.1, de-CH;q=0.5', 'de;q=0, en', '*'].map(requestLocale)).toEqual(['en', 'en', 'en', 'de', 'de', 'en', 'de', 'en', 'en']);
  });
});
