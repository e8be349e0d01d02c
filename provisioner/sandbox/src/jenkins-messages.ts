// The words of the build queue's `why`, localised as Jenkins localises them: each cause is a
// Localizable worded when it is asked for, in the request's locale (Stapler's request locale, from
// Accept-Language; without one the controller JVM's default, English in the jenkins/jenkins
// image). The texts are core's hudson/model/Messages.properties and its German translation
// (Messages_de.properties), the time spans hudson/Messages*.properties through Util.getTimeSpanString
// (jenkinsci/jenkins at ff9430e).

export type QueueLocale = 'en' | 'de';

export type QueueMessageKey =
  | 'WaitingForNextAvailableExecutor'
  | 'WaitingForNextAvailableExecutorOn'
  | 'LabelHasNoNodes'
  | 'AllNodesOffline'
  | 'NodeOffline'
  | 'InQuietPeriod'
  | 'FinishedWaiting'
  | 'LabelMissing'
  | 'BecauseNodeIsReserved'
  | 'BuiltInNodeDisplayName';

/** A cause of blockage as Jenkins keeps it: a message key and its arguments, worded later. */
export interface QueueMessage {
  key: QueueMessageKey;
  args: string[];
}

const english: Record<QueueMessageKey, string> = {
  WaitingForNextAvailableExecutor: 'Waiting for next available executor',
  WaitingForNextAvailableExecutorOn: 'Waiting for next available executor on ‘{0}’',
  LabelHasNoNodes: 'There are no nodes with the label ‘{0}’',
  AllNodesOffline: 'All nodes of label ‘{0}’ are offline',
  NodeOffline: '‘{0}’ is offline',
  InQuietPeriod: 'In the quiet period. Expires in {0}',
  FinishedWaiting: 'Finished waiting',
  LabelMissing: '‘{0}’ doesn’t have label ‘{1}’',
  BecauseNodeIsReserved: '‘{0}’ is reserved for jobs with matching label expression',
  // Hudson.Computer.DisplayName: Jenkins.MasterComputer.getDisplayName.
  BuiltInNodeDisplayName: 'Built-In Node',
};

// Messages_de.properties has no Queue.FinishedWaiting: the base bundle's English answers for it.
const german: Partial<Record<QueueMessageKey, string>> = {
  WaitingForNextAvailableExecutor: 'Warte auf den nächsten freien Build-Prozessor',
  WaitingForNextAvailableExecutorOn: 'Warte auf den nächsten freien Build-Prozessor auf {0}',
  LabelHasNoNodes: 'Es gibt keine Knoten mit dem Label „{0}“',
  AllNodesOffline: 'Alle Knoten des Labels „{0}“ sind offline',
  NodeOffline: '{0} ist offline',
  InQuietPeriod: 'In Ruhe-Periode. Endet in {0}',
  LabelMissing: '„{0}“ hat nicht das Label „{1}“',
  BecauseNodeIsReserved: '„{0}“ ist für Projekte mit passendem Label-Ausdruck reserviert',
  // Not translated since the rename: the German bundle still says master.
  BuiltInNodeDisplayName: 'master',
};

export const message = (key: QueueMessageKey, ...args: string[]): QueueMessage => ({ key, args });

export function render(m: QueueMessage, locale: QueueLocale): string {
  const pattern = (locale === 'de' ? german[m.key] : undefined) ?? english[m.key];
  return pattern.replace(/\{(\d)\}/g, (_, i: string) => m.args[Number(i)] ?? '');
}

/**
 * ServletRequest.getLocale as Jenkins' Jetty answers it: the Accept-Language range of the highest
 * quality (the first of equals); none, the JVM default. A locale resolves to the most specific
 * bundle there is (de-AT to Messages_de), else the base bundle (English).
 */
export function requestLocale(acceptLanguage: string | undefined): QueueLocale {
  if (!acceptLanguage) return 'en';
  let best: { tag: string; q: number } | undefined;
  for (const part of acceptLanguage.split(',')) {
    const [range, ...params] = part.trim().split(';');
    const q = Number(params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined) ?? '1');
    if (!range || range === '*' || !Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { tag: range.toLowerCase(), q };
  }
  return best && (best.tag === 'de' || best.tag.startsWith('de-')) ? 'de' : 'en';
}

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
const month = 30 * day;
const year = 365 * day;

type Unit = 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'month' | 'year';

/** java.text.NumberFormat of the locale: at most three fraction digits, the locale's decimal separator, grouping. */
function number(n: number, locale: QueueLocale): string {
  return n.toLocaleString(locale === 'de' ? 'de-DE' : 'en-US', { maximumFractionDigits: 3 });
}

/** ChoiceFormat 0#many|1#one|1<many. */
const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/** Util.millisecond … Util.year of hudson/Messages.properties and Messages_de.properties. */
function unit(n: number, u: Unit, locale: QueueLocale): string {
  const v = number(n, locale);
  if (locale === 'de') {
    const words: Record<Unit, [string, string]> = { millisecond: ['ms', 'ms'], second: ['Sekunde', 'Sekunden'], minute: ['Minute', 'Minuten'], hour: ['Stunde', 'Stunden'], day: ['Tag', 'Tage'], month: ['Monat', 'Monate'], year: ['Jahr', 'Jahre'] };
    return `${v} ${plural(n, ...words[u])}`;
  }
  const words: Record<Unit, string> = { millisecond: 'ms', second: 'sec', minute: 'min', hour: 'hr', day: plural(n, 'day', 'days'), month: 'mo', year: 'yr' };
  return `${v} ${words[u]}`;
}

/** Util.getTimeSpanString: the largest unit, and the next one when the largest is under ten. */
export function timeSpan(duration: number, locale: QueueLocale): string {
  const parts: Array<[number, Unit]> = [];
  let rest = duration;
  for (const [size, u] of [[year, 'year'], [month, 'month'], [day, 'day'], [hour, 'hour'], [minute, 'minute'], [second, 'second']] as Array<[number, Unit]>) {
    parts.push([Math.floor(rest / size), u]);
    rest %= size;
  }
  const millis = rest;
  for (let i = 0; i < 5; i++) {
    const [big, bigUnit] = parts[i]!;
    if (big > 0) {
      const [small, smallUnit] = parts[i + 1]!;
      return big < 10 ? `${unit(big, bigUnit, locale)} ${unit(small, smallUnit, locale)}` : unit(big, bigUnit, locale);
    }
  }
  const seconds = parts[5]![0];
  // Java's float arithmetic: "1.2 sec" (tenths) from a second on, "0.12 sec" (hundredths) from 100 ms.
  if (seconds >= 10) return unit(seconds, 'second', locale);
  if (seconds >= 1) return unit(Math.fround(seconds + Math.floor(millis / 100) / 10), 'second', locale);
  if (millis >= 100) return unit(Math.fround(Math.floor(millis / 10) / 100), 'second', locale);
  return unit(millis, 'millisecond', locale);
}
