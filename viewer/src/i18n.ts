/**
 * Two languages, switchable at run time: English and Simplified Chinese.
 *
 * Each screen declares its own messages next to its code with `defineMessages`, so a
 * screen's English and Chinese live together and the compiler refuses a Chinese catalog
 * that misses a key. Clinical text (finding names, reasons, risk explanations) comes
 * from the API in both languages; `clinical(en, zh)` picks the one to show and falls
 * back to English only when the model card has no Chinese text.
 *
 * The starting locale is the reader's last choice, else the browser's language. A switch
 * re-mounts the current screen (main.ts listens), so no screen keeps stale text.
 */

export type Locale = 'en' | 'zh';

export const LOCALES: readonly { id: Locale; label: string }[] = [
  { id: 'en', label: 'English' },
  { id: 'zh', label: '中文' },
];

const LOCALE_KEY = 'lantern.locale';
const CHANGE_EVENT = 'lantern:locale';

function initialLocale(): Locale {
  try {
    const stored = localStorage.getItem(LOCALE_KEY);
    if (stored === 'en' || stored === 'zh') return stored;
  } catch {
    // Private mode: fall through to the browser's language.
  }
  const languages = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const lang of languages) {
    if (/^zh\b/i.test(lang)) return 'zh';
    if (/^en\b/i.test(lang)) return 'en';
  }
  return 'en';
}

let current: Locale = initialLocale();
document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';

export function locale(): Locale {
  return current;
}

/** BCP 47 tag for Intl formatting of dates and numbers in the current locale. */
export function intlLocale(): string {
  return current === 'zh' ? 'zh-CN' : 'en-GB';
}

export function setLocale(next: Locale): void {
  if (next === current) return;
  current = next;
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  try {
    localStorage.setItem(LOCALE_KEY, next);
  } catch {
    // The choice lives for this page only.
  }
  window.dispatchEvent(new CustomEvent(CHANGE_EVENT, { detail: next }));
}

export function onLocaleChange(listener: (locale: Locale) => void): () => void {
  const handler = (e: Event) => listener((e as CustomEvent<Locale>).detail);
  window.addEventListener(CHANGE_EVENT, handler);
  return () => window.removeEventListener(CHANGE_EVENT, handler);
}

type Message = string | ((...args: never[]) => string);

/**
 * A screen's messages in both languages; call the returned function at render time
 * (`const m = msg(); m.title`) so a locale switch takes effect on the next render.
 *
 * @example
 * const msg = defineMessages({
 *   en: { title: 'Worklist', waiting: (min: number) => `waiting ${min} min` },
 *   zh: { title: '工作列表', waiting: (min: number) => `已等待 ${min} 分钟` },
 * });
 */
export function defineMessages<T extends Record<string, Message>>(catalog: { en: T; zh: { [K in keyof T]: T[K] } }): () => T {
  return () => catalog[current];
}

/** Clinical text from the API: the Chinese version when the reader reads Chinese and one exists. */
export function clinical(en: string, zh: string | undefined | null): string {
  return current === 'zh' && zh ? zh : en;
}
