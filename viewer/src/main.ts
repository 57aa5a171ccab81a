/**
 * App shell: header, the reviewer's name, and a hash router over three screens. Each
 * screen mounts into `#screen` and returns its own cleanup (timers, cornerstone element),
 * which runs before the next screen mounts.
 */
import { h, replaceChildren } from './dom.ts';
import { mountWorklist } from './worklist.ts';
import { mountStudy } from './study.ts';
import { mountAudit } from './audit.ts';

export interface AppContext {
  /** The name recorded on every decision. Identity only, not access control (that comes later). */
  reviewer(): string;
  navigate(hash: string): void;
}

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
    const input = h('input', {
      type: 'text',
      id: 'reviewer-name',
      testid: 'reviewer-name',
      autocomplete: 'name',
      required: true,
      maxlength: 100,
      placeholder: 'e.g. Dr A. Rivera',
      value: current,
    });
    const form = h(
      'form',
      { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'reviewer-title' },
      h('h2', { id: 'reviewer-title' }, 'Who is reviewing?'),
      h(
        'p',
        { class: 'muted' },
        'Your name is recorded with every accept or override decision and in the audit trail.',
      ),
      h('label', { for: 'reviewer-name' }, 'Your name'),
      input,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'reviewer-submit' }, 'Continue')),
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

async function start(): Promise<void> {
  const app = document.getElementById('app')!;
  let reviewer = storedReviewer();
  const who = h('span', { class: 'reviewer-name', testid: 'reviewer' }, reviewer);
  const changeName = h('button', { type: 'button', class: 'link', testid: 'change-reviewer' }, 'change');
  const nav = h(
    'nav',
    {},
    h('a', { href: '#/', testid: 'nav-worklist' }, 'Worklist'),
    h('a', { href: '#/audit', testid: 'nav-audit' }, 'Audit trail'),
  );
  const screen = h('main', { id: 'screen' });
  replaceChildren(
    app,
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Lantern'),
      h('span', { class: 'brand-sub' }, 'Imaging triage · AI-assisted'),
      nav,
      h('div', { class: 'who' }, 'Reviewer: ', who, ' ', changeName),
    ),
    screen,
  );

  changeName.addEventListener('click', async () => {
    reviewer = await askReviewerName(reviewer);
    who.textContent = reviewer;
  });
  if (!reviewer) {
    reviewer = await askReviewerName('');
    who.textContent = reviewer;
  }

  const ctx: AppContext = {
    reviewer: () => reviewer,
    navigate: (hash) => {
      location.hash = hash;
    },
  };

  let cleanup: (() => void) | undefined;
  const route = () => {
    cleanup?.();
    cleanup = undefined;
    screen.replaceChildren();
    const path = location.hash.replace(/^#/, '') || '/';
    const study = /^\/study\/(.+)$/.exec(path);
    for (const a of nav.querySelectorAll('a')) {
      const target = a.getAttribute('href')!.slice(1);
      a.classList.toggle('active', target === '/audit' ? path === '/audit' : path !== '/audit');
    }
    if (study) cleanup = mountStudy(screen, ctx, decodeURIComponent(study[1]));
    else if (path === '/audit') cleanup = mountAudit(screen, ctx);
    else cleanup = mountWorklist(screen, ctx);
  };
  window.addEventListener('hashchange', route);
  route();
}

void start();
