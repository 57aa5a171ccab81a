/**
 * App shell: header (screens, language, the reviewer's name) and a hash router. Each
 * screen mounts into `#screen` and returns its own cleanup (timers, cornerstone element),
 * which runs before the next screen mounts. A language switch re-renders the header and
 * re-mounts the current screen, so no screen has to listen for it.
 */
import { h, replaceChildren } from './dom.ts';
import { defineMessages, LOCALES, locale, onLocaleChange, setLocale } from './i18n.ts';
import { mountWorklist } from './worklist.ts';
import { mountStudy } from './study.ts';
import { mountAudit } from './audit.ts';
import { mountHints } from './hints.ts';
import { mountDashboard } from './dashboard.ts';

export interface AppContext {
  /** The name recorded on every decision. Identity only, not access control (that comes later). */
  reviewer(): string;
  navigate(hash: string): void;
}

const msg = defineMessages({
  en: {
    title: 'Lantern — imaging triage',
    sub: 'Imaging triage · AI-assisted',
    nav: 'Screens',
    worklist: 'Worklist',
    hints: 'Hints',
    agreement: 'Agreement',
    audit: 'Audit trail',
    language: 'Language',
    reviewer: 'Reviewer:',
    change: 'change',
    changeTitle: 'Change the name recorded with your decisions',
    who: 'Who is using Lantern?',
    whyName: 'Your name is recorded with every decision and calculation, and in the audit trail.',
    yourName: 'Your name',
    namePlaceholder: 'e.g. Dr A. Rivera',
    continue: 'Continue',
  },
  zh: {
    title: 'Lantern — 影像分诊',
    sub: '影像分诊 · AI辅助',
    nav: '页面',
    worklist: '工作列表',
    hints: '诊断提示',
    agreement: '一致性',
    audit: '审计记录',
    language: '语言',
    reviewer: '阅片医师：',
    change: '更改',
    changeTitle: '更改随决定记录的姓名',
    who: '请问您是哪位？',
    whyName: '您的姓名会随每项决定和计算记录在审计记录中。',
    yourName: '您的姓名',
    namePlaceholder: '例如：王医生',
    continue: '继续',
  },
});

interface Route {
  pattern: RegExp;
  /** The nav link that is active while this route shows. */
  nav: string;
  mount(root: HTMLElement, ctx: AppContext, ...params: string[]): () => void;
}

/** First match wins; the worklist is the fallback for any other path. */
const ROUTES: Route[] = [
  { pattern: /^\/study\/(.+)$/, nav: '/', mount: (root, ctx, uid) => mountStudy(root, ctx, decodeURIComponent(uid)) },
  { pattern: /^\/hints$/, nav: '/hints', mount: mountHints },
  { pattern: /^\/agreement$/, nav: '/agreement', mount: mountDashboard },
  { pattern: /^\/audit$/, nav: '/audit', mount: mountAudit },
  { pattern: /^/, nav: '/', mount: mountWorklist },
];

const NAV: { path: string; testid: string; text: () => string }[] = [
  { path: '/', testid: 'nav-worklist', text: () => msg().worklist },
  { path: '/hints', testid: 'nav-hints', text: () => msg().hints },
  { path: '/agreement', testid: 'nav-agreement', text: () => msg().agreement },
  { path: '/audit', testid: 'nav-audit', text: () => msg().audit },
];

const REVIEWER_KEY = 'lantern.reviewer';

function storedReviewer(): string {
  try {
    return localStorage.getItem(REVIEWER_KEY)?.trim() ?? '';
  } catch {
    return '';
  }
}

/** Asks for the reviewer's name in a modal; resolves with the trimmed name. */
function askReviewerName(current: string): Promise<string> {
  return new Promise((resolve) => {
    const m = msg();
    const input = h('input', {
      type: 'text',
      id: 'reviewer-name',
      testid: 'reviewer-name',
      autocomplete: 'name',
      required: true,
      maxlength: 100,
      placeholder: m.namePlaceholder,
      value: current,
    });
    const form = h(
      'form',
      { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'reviewer-title' },
      h('h2', { id: 'reviewer-title' }, m.who),
      h('p', { class: 'muted' }, m.whyName),
      h('label', { for: 'reviewer-name' }, m.yourName),
      input,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'reviewer-submit' }, m.continue)),
    );
    const backdrop = h('div', { class: 'backdrop' }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      try {
        localStorage.setItem(REVIEWER_KEY, name);
      } catch {
        // Private mode: the name lives for this page only.
      }
      backdrop.remove();
      resolve(name);
    });
    document.body.appendChild(backdrop);
    input.focus();
  });
}

function currentPath(): string {
  return location.hash.replace(/^#/, '') || '/';
}

function languageButtons(): HTMLElement[] {
  return LOCALES.map(({ id, label }) =>
    h(
      'button',
      {
        type: 'button',
        class: 'lang',
        lang: id === 'zh' ? 'zh-CN' : 'en',
        testid: `lang-${id}`,
        'aria-pressed': String(id === locale()),
        title: label,
        onclick: () => setLocale(id),
      },
      id === 'zh' ? label : 'EN',
    ),
  );
}

/** The top bar: brand, the screens (the current one marked), language, and who is reading. */
function renderHeader(header: HTMLElement, reviewer: string, changeReviewer: () => void): void {
  const m = msg();
  document.title = m.title;
  const active = ROUTES.find((r) => r.pattern.test(currentPath()))!.nav;
  replaceChildren(
    header,
    h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Lantern'),
    h('span', { class: 'brand-sub' }, m.sub),
    h(
      'nav',
      { 'aria-label': m.nav },
      NAV.map((n) =>
        h('a', { href: `#${n.path}`, testid: n.testid, class: n.path === active ? 'active' : undefined, 'aria-current': n.path === active ? 'page' : undefined }, n.text()),
      ),
    ),
    // Tools on the right; the shortcut help (shortcuts.ts) may add its button here.
    h(
      'div',
      { class: 'topbar-tools', id: 'topbar-tools' },
      h('div', { class: 'lang-switch', role: 'group', 'aria-label': m.language, testid: 'lang-switch' }, languageButtons()),
      h(
        'div',
        { class: 'who' },
        `${m.reviewer} `,
        h('span', { class: 'reviewer-name', testid: 'reviewer' }, reviewer),
        ' ',
        h('button', { type: 'button', class: 'link', testid: 'change-reviewer', title: m.changeTitle, onclick: changeReviewer }, m.change),
      ),
    ),
  );
}

/** Mounts the screen the hash names, after the previous screen's cleanup has run. */
function startRouter(screen: HTMLElement, ctx: AppContext, beforeMount: () => void): () => void {
  let cleanup: (() => void) | undefined;
  const route = () => {
    cleanup?.();
    cleanup = undefined;
    screen.replaceChildren();
    const path = currentPath();
    beforeMount();
    for (const r of ROUTES) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      cleanup = r.mount(screen, ctx, ...match.slice(1));
      break;
    }
  };
  window.addEventListener('hashchange', route);
  route();
  return route;
}

async function start(): Promise<void> {
  const app = document.getElementById('app')!;
  const header = h('header', { class: 'topbar' });
  const screen = h('main', { id: 'screen' });
  replaceChildren(app, header, screen);
  let reviewer = storedReviewer();

  const showHeader = () =>
    renderHeader(header, reviewer, async () => {
      reviewer = await askReviewerName(reviewer);
      showHeader();
    });

  showHeader();
  if (!reviewer) {
    reviewer = await askReviewerName('');
    showHeader();
  }

  const ctx: AppContext = {
    reviewer: () => reviewer,
    navigate: (hash) => {
      location.hash = hash;
    },
  };

  const route = startRouter(screen, ctx, showHeader);
  onLocaleChange(() => {
    route();
    // Keyboard users keep their place: focus returns to the language they just chose.
    header.querySelector<HTMLElement>(`[data-testid="lang-${locale()}"]`)?.focus();
  });
}

void start();
