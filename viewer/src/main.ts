/**
 * App shell: sign-in, header (screens, language, who is signed in) and a hash router. Each
 * screen mounts into `#screen` and returns its own cleanup (timers, cornerstone element),
 * which runs before the next screen mounts. A language switch re-renders the header and
 * re-mounts the current screen, so no screen has to listen for it.
 */
import { getSession, getSignInOptions, providerSignInUrl, SIGNED_OUT_EVENT, signIn, signOut, type Session, type SignInOptions, type User } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { defineMessages, LOCALES, locale, onLocaleChange, setLocale } from './i18n.ts';
import { mountWorklist } from './worklist.ts';
import { mountStudy } from './study.ts';
import { mountAudit } from './audit.ts';
import { mountHints } from './hints.ts';
import { mountDashboard } from './dashboard.ts';
import { mountCompare } from './dashboard/compare.ts';
import { mountConsultations } from './consultations/list.ts';
import { mountConsultationCase } from './consultations/case.ts';
import { mountSites } from './sites/screen.ts';
import { mountPatientVitals } from './patients/patient-vitals.ts';
import { mountSurveillance } from './surveillance/screen.ts';
import { mountDrift } from './drift/screen.ts';

export interface AppContext {
  /** The signed-in user (with the sites its sites read for): the server records them on every decision, whatever the page sends. */
  user(): Session['user'];
  navigate(hash: string): void;
}

const msg = defineMessages({
  en: {
    title: 'Lantern — imaging triage',
    sub: 'Imaging triage · AI-assisted',
    nav: 'Screens',
    worklist: 'Worklist',
    hints: 'Hints',
    consultations: 'Consultations',
    surveillance: 'Surveillance',
    agreement: 'Agreement',
    drift: 'Drift',
    sites: 'Sites',
    audit: 'Audit trail',
    language: 'Language',
    reviewer: 'Signed in:',
    signOut: 'sign out',
    signInTitle: 'Sign in to Lantern',
    whyName: 'Every decision and calculation is recorded under your account, in the audit trail.',
    username: 'User name',
    password: 'Password',
    signIn: 'Sign in',
    signInFailed: 'Unknown user or wrong password.',
    signInWith: (provider: string) => `Sign in with ${provider}`,
    orLocal: 'or with a Lantern account:',
  },
  zh: {
    title: 'Lantern — 影像分诊',
    sub: '影像分诊 · AI辅助',
    nav: '页面',
    worklist: '工作列表',
    hints: '诊断提示',
    consultations: '远程会诊',
    surveillance: '监测预警',
    agreement: '一致性',
    drift: '模型漂移',
    sites: '机构',
    audit: '审计记录',
    language: '语言',
    reviewer: '当前用户：',
    signOut: '退出',
    signInTitle: '登录 Lantern',
    whyName: '每项决定和计算都以您的账号记录在审计记录中。',
    username: '用户名',
    password: '密码',
    signIn: '登录',
    signInFailed: '用户名或密码错误。',
    signInWith: (provider: string) => `通过 ${provider} 登录`,
    orLocal: '或使用 Lantern 账号：',
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
  { pattern: /^\/patients\/([0-9a-f]{40})$/, nav: '/', mount: (root, ctx, key) => mountPatientVitals(root, ctx, key) },
  { pattern: /^\/hints$/, nav: '/hints', mount: mountHints },
  { pattern: /^\/consultations\/(.+)$/, nav: '/consultations', mount: (root, ctx, id) => mountConsultationCase(root, ctx, decodeURIComponent(id)) },
  { pattern: /^\/consultations$/, nav: '/consultations', mount: mountConsultations },
  { pattern: /^\/surveillance$/, nav: '/surveillance', mount: mountSurveillance },
  { pattern: /^\/agreement$/, nav: '/agreement', mount: mountDashboard },
  { pattern: /^\/compare$/, nav: '/agreement', mount: mountCompare },
  { pattern: /^\/drift$/, nav: '/drift', mount: mountDrift },
  { pattern: /^\/sites$/, nav: '/sites', mount: mountSites },
  { pattern: /^\/audit$/, nav: '/audit', mount: mountAudit },
  { pattern: /^/, nav: '/', mount: mountWorklist },
];

/** Who sees a link, when not everyone does (the server decides what each may do either way). */
const CLINICAL: readonly string[] = ['radiologist', 'grassroots-doctor', 'consultant'];

const NAV: { path: string; testid: string; text: () => string; shownTo?: readonly string[] }[] = [
  { path: '/', testid: 'nav-worklist', text: () => msg().worklist },
  { path: '/hints', testid: 'nav-hints', text: () => msg().hints },
  { path: '/consultations', testid: 'nav-consultations', text: () => msg().consultations, shownTo: CLINICAL },
  { path: '/surveillance', testid: 'nav-surveillance', text: () => msg().surveillance, shownTo: [...CLINICAL, 'admin'] },
  { path: '/agreement', testid: 'nav-agreement', text: () => msg().agreement },
  { path: '/drift', testid: 'nav-drift', text: () => msg().drift, shownTo: ['model-team', 'admin'] },
  { path: '/audit', testid: 'nav-audit', text: () => msg().audit },
  { path: '/sites', testid: 'nav-sites', text: () => msg().sites, shownTo: ['admin'] },
];

/**
 * Asks for a user name and password in a modal until they sign in; resolves with the session.
 * With the hospital's identity provider configured, it offers that first: the browser goes
 * there and comes back to this very screen, signed in (the page starts again).
 */
async function askToSignIn(): Promise<Session> {
  // Without the answer (an old server, a blip) the local form still works.
  const options: Partial<SignInOptions> = await getSignInOptions().catch(() => ({}));
  return new Promise((resolve) => {
    const m = msg();
    const field = (id: string, type: string, autocomplete: string) => h('input', { type, id, testid: id, autocomplete, required: true, maxlength: 1024 });
    const username = field('sign-in-username', 'text', 'username');
    const password = field('sign-in-password', 'password', 'current-password');
    const error = h('p', { class: 'error', role: 'alert', testid: 'sign-in-error', hidden: true }, m.signInFailed);
    const form = h(
      'form',
      { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'sign-in-title' },
      h('h2', { id: 'sign-in-title' }, m.signInTitle),
      h('p', { class: 'muted' }, m.whyName),
      options.oidc && [
        h('a', { class: 'button-link', testid: 'sign-in-provider', href: providerSignInUrl(options.oidc.start, location.pathname + location.search + location.hash) }, m.signInWith(options.oidc.name)),
        h('p', { class: 'muted' }, m.orLocal),
      ],
      h('label', { for: 'sign-in-username' }, m.username),
      username,
      h('label', { for: 'sign-in-password' }, m.password),
      password,
      error,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'sign-in-submit' }, m.signIn)),
    );
    const backdrop = h('div', { class: 'backdrop' }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      signIn(username.value.trim(), password.value).then((session) => {
        backdrop.remove();
        resolve(session);
      }, () => {
        error.hidden = false;
        password.value = '';
        password.focus();
      });
    });
    document.body.appendChild(backdrop);
    username.focus();
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

/** The top bar: brand, the screens (the current one marked), language, and who is signed in. */
function renderHeader(header: HTMLElement, user: User, onSignOut: () => void): void {
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
      NAV.filter((n) => !n.shownTo || user.roles.some((r) => n.shownTo!.includes(r))).map((n) =>
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
        h('span', { class: 'reviewer-name', testid: 'reviewer', title: user.username }, user.displayName),
        ' ',
        h('button', { type: 'button', class: 'link', testid: 'sign-out', onclick: onSignOut }, m.signOut),
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
  let session = (await getSession()) ?? (await askToSignIn());
  // A session that ends while the page is open (idle timeout, signed out elsewhere): sign in again, stay on the screen.
  let asking = false;
  window.addEventListener(SIGNED_OUT_EVENT, () => {
    if (asking) return;
    asking = true;
    void askToSignIn().then((renewed) => {
      asking = false;
      session = renewed;
      route();
    });
  });

  const showHeader = () =>
    renderHeader(header, session.user, () => {
      void signOut().finally(() => location.reload());
    });

  const ctx: AppContext = {
    user: () => session.user,
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
