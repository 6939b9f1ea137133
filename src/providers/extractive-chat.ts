// The offline default answerer: no network and no model weights. It quotes the source sentences
// that share the most meaningful words with the question, each followed by its [n] marker, and
// streams them in small word groups so clients see the same kind of stream a real model gives.
import { setTimeout as sleep } from 'node:timers/promises';
import { cancelled, type ChatEvent, type ChatModel, type ChatRequest, type Source } from './chat-model.ts';
import { estimateTokens } from './prompt.ts';

export interface ExtractiveChatOptions {
  /** Pause between deltas, so streaming is visible in demos and tests. Default 0. */
  deltaDelayMs?: number;
}

export const NOT_FOUND_ANSWER = 'I could not find this in your documents.';

/** Most sentences quoted, and roughly most characters: an answer, not a copy of the sources. */
const MAX_SENTENCES = 3;
const MAX_CHARS = 700;
/** A sentence must score at least this share of the best one to join it. */
const RELATIVE_CUTOFF = 0.5;
const WORDS_PER_DELTA = 3;

const STOPWORDS = new Set(
  (
    'a about above after again all also am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers him his how ' +
    'i if in into is it its itself just me more most my no nor not of off on once only or other our ours out over own ' +
    'please same she should so some such tell than that the their theirs them then there these they this those through to ' +
    'too under until up us very was we were what when where which while who whom why will with would you your yours'
  ).split(' '),
);

/** Lowercase word stems, stopwords and one-letter words removed. */
function terms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
  return words.filter((word) => word.length > 1 && !STOPWORDS.has(word)).map(stem);
}

/**
 * Light suffix stripping, so "refunds", "refunded" and "refunding" meet at "refund". Not a real
 * stemmer: it only has to map a question's word and a source's word to the same key, and it is
 * applied to both alike.
 */
function stem(word: string): string {
  let w = word.replace(/'s$/, '');
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  if (w.length > 4 && w.endsWith('e')) w = w.slice(0, -1);
  // "resetting" → "resett" → "reset"
  if (/([b-df-hj-km-np-rt-z])\1$/.test(w)) w = w.slice(0, -1);
  return w;
}

interface Sentence {
  text: string;
  source: Source;
  /** Position of the source in the ranking, then of the sentence inside it: the tie-breakers. */
  sourceRank: number;
  position: number;
  terms: Set<string>;
}

/** Sentences of the sources. Single line breaks (PDF layout) are joined; blank lines end a sentence. */
function sentencesOf(sources: Source[]): Sentence[] {
  const seen = new Set<string>();
  const sentences: Sentence[] = [];
  sources.forEach((source, sourceRank) => {
    const paragraphs = source.text.split(/\n\s*\n/).map((paragraph) => paragraph.replace(/\s+/g, ' ').trim());
    const pieces = paragraphs.flatMap((paragraph) => paragraph.split(/(?<=[.!?])\s+(?=["'(\p{Lu}\p{N}])/u));
    pieces.forEach((piece, position) => {
      const text = piece.trim();
      const key = text.toLowerCase();
      // Neighbouring chunks overlap: a sentence in two of them is quoted once, from the better-ranked one.
      if (!text || seen.has(key)) return;
      seen.add(key);
      sentences.push({ text, source, sourceRank, position, terms: new Set(terms(text)) });
    });
  });
  return sentences;
}

/**
 * The sentences to quote, in reading order (by source rank, then position in the source). Each
 * distinct question term a sentence contains adds its inverse sentence frequency, so a rare word
 * of the question counts more than a common one.
 */
function selectSentences(question: string, sources: Source[]): Sentence[] {
  const wanted = new Set(terms(question));
  const sentences = sentencesOf(sources);
  if (wanted.size === 0 || sentences.length === 0) return [];
  const weight = new Map<string, number>();
  for (const term of wanted) {
    const frequency = sentences.filter((sentence) => sentence.terms.has(term)).length;
    weight.set(term, Math.log(1 + sentences.length / Math.max(frequency, 1)));
  }
  const scored = sentences
    .map((sentence) => ({ sentence, score: [...wanted].reduce((sum, term) => sum + (sentence.terms.has(term) ? weight.get(term)! : 0), 0) }))
    .filter(({ score }) => score > 0)
    // Array.prototype.sort is stable, and `sentences` is in source-rank then position order, so ties keep that order.
    .sort((a, b) => b.score - a.score);
  const best = scored[0]?.score ?? 0;
  const chosen: Sentence[] = [];
  let chars = 0;
  for (const { sentence, score } of scored) {
    if (chosen.length >= MAX_SENTENCES || score < best * RELATIVE_CUTOFF) break;
    if (chosen.length > 0 && chars + sentence.text.length > MAX_CHARS) continue;
    chosen.push(sentence);
    chars += sentence.text.length;
  }
  return chosen.sort((a, b) => a.sourceRank - b.sourceRank || a.position - b.position);
}

export function extractiveAnswer(question: string, sources: Source[]): string {
  const chosen = selectSentences(question, sources);
  if (chosen.length === 0) return NOT_FOUND_ANSWER;
  return chosen.map((sentence) => `${sentence.text} [${sentence.source.n}]`).join(' ');
}

/** Splits text into groups of a few words whose concatenation is the text itself. */
function wordGroups(text: string): string[] {
  const words = text.match(/\s*\S+/g) ?? [];
  const groups: string[] = [];
  for (let i = 0; i < words.length; i += WORDS_PER_DELTA) groups.push(words.slice(i, i + WORDS_PER_DELTA).join(''));
  return groups;
}

export function createExtractiveChatModel(options: ExtractiveChatOptions = {}): ChatModel {
  const delayMs = options.deltaDelayMs ?? 0;
  return {
    model: 'local/extractive',
    async *stream(request: ChatRequest): AsyncGenerator<ChatEvent> {
      const { signal } = request;
      const answer = extractiveAnswer(request.question, request.sources);
      for (const [index, text] of wordGroups(answer).entries()) {
        if (index > 0 && delayMs > 0) await sleep(delayMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw cancelled(signal);
        yield { type: 'delta', text };
      }
      if (signal.aborted) throw cancelled(signal);
      // What a model would have read: the question and the sources.
      const read = [request.question, ...request.sources.map((source) => source.text)].join('\n');
      yield { type: 'usage', inputTokens: estimateTokens(read), outputTokens: estimateTokens(answer) };
    },
  };
}
