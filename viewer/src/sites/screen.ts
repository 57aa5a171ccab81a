/**
 * `#/sites` (admins): the care network as a tree by parent, each site with its level badge and
 * the sites it reads for; a form to add a site; and, for the site chosen in the tree, its name,
 * level and parent, the sites it reads for (checkboxes) and its consultation policy. Every
 * change goes to the API, which checks and audits it; the screen then lists the sites again.
 * mountSites is one long closure on purpose: the tree, the forms and the reload share the sites
 * as last listed and the chosen one, and each part is a short function inside it.
 */
import type { AppContext } from '../main.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import {
  createSite, getConsultationPolicy, getSites, setConsultationPolicy, setReadsFor, updateSite,
  type ConsultationPolicy, type Site, type SiteLevel,
} from './api.ts';
import { msg } from './messages.ts';
import './sites.css';

const URGENCIES = ['emergency', 'urgent', 'routine'] as const;
/** Each level's place, lowest first (contract SITE_LEVELS; a Record, so the compiler finds a level missing here). */
const RANK: Record<SiteLevel, number> = { village: 0, township: 1, county: 2, city: 3 };
const rank = (level: SiteLevel) => RANK[level];
/** Highest first, as the select offers them. */
const LEVELS = (Object.keys(RANK) as SiteLevel[]).sort((a, b) => rank(b) - rank(a));

/** Highest level first, then by name: a county above its townships, siblings alphabetical. */
const byLevelThenName = (a: Site, b: Site) => rank(b.level) - rank(a.level) || a.name.localeCompare(b.name);

function levelBadge(level: SiteLevel): HTMLElement {
  return h('span', { class: `site-level site-level-${level}`, testid: 'level-badge' }, msg().level(level));
}

function levelSelect(testid: string, selected: SiteLevel, onchange?: () => void): HTMLSelectElement {
  return h('select', { testid, onchange }, LEVELS.map((l) => h('option', { value: l, selected: l === selected }, msg().level(l))));
}

/** A labelled field: label above its control. */
const field = (label: string, control: HTMLElement) => h('label', { class: 'site-field' }, h('span', {}, label), control);

export function mountSites(root: HTMLElement, ctx: AppContext): () => void {
  const m = msg();
  let stopped = false;
  let sites: Site[] = [];
  let selected: string | undefined;
  /** The add form's parent choices follow the sites as they are listed. */
  let refreshAddForm: (() => void) | undefined;
  const status = h('p', { class: 'muted small', role: 'status', testid: 'sites-status' });
  const tree = h('div', { class: 'site-tree', testid: 'site-tree' });
  const detail = h('section', { class: 'site-panel site-detail', testid: 'site-detail', 'aria-live': 'polite' });
  const nameOf = (id: string) => sites.find((s) => s.id === id)?.name ?? id;

  /** Lists the sites again and redraws the tree and the chosen site; `note` goes to the status line. */
  async function reload(note?: string): Promise<void> {
    try {
      sites = await getSites();
    } catch (err) {
      if (!stopped) status.textContent = errorText(err);
      return;
    }
    if (stopped) return;
    status.textContent = note ?? '';
    drawTree();
    drawDetail();
    refreshAddForm?.();
  }

  function drawTree(): void {
    const known = new Set(sites.map((s) => s.id));
    const childrenOf = (parent: string | undefined) =>
      sites.filter((s) => (parent === undefined ? !s.parentId || !known.has(s.parentId) : s.parentId === parent)).sort(byLevelThenName);
    const readBy = (id: string) => sites.filter((s) => s.readsFor.includes(id)).map((s) => s.name);
    const branch = (parent: string | undefined): HTMLElement | null => {
      const children = childrenOf(parent);
      if (children.length === 0) return null;
      return h('ul', { role: parent === undefined ? 'tree' : 'group', 'aria-label': parent === undefined ? m.tree : undefined }, children.map((s) => h(
        'li',
        { role: 'treeitem', 'aria-selected': String(s.id === selected) },
        h(
          'button',
          { type: 'button', class: `site-node${s.id === selected ? ' selected' : ''}`, testid: `site-node-${s.id}`, onclick: () => { selected = s.id; drawTree(); drawDetail(); } },
          levelBadge(s.level),
          h('span', { class: 'site-node-name' }, s.name),
          h('span', { class: 'muted small' }, s.id),
        ),
        s.readsFor.length > 0 && h('div', { class: 'site-reads small', testid: `site-reads-${s.id}` }, m.readsFor(s.readsFor.map(nameOf).join(', '))),
        readBy(s.id).length > 0 && h('div', { class: 'site-reads small muted' }, m.readBy(readBy(s.id).join(', '))),
        branch(s.id),
      )));
    };
    replaceChildren(tree, branch(undefined));
  }

  /**
   * The parent choices for a site of `level`: every other site of a higher level, and the
   * current parent even when it no longer is — a level change never drops the parent unseen;
   * the API refuses it and says why.
   */
  function fillParents(select: HTMLSelectElement, level: SiteLevel, current: string | undefined, self?: string): void {
    const choices = sites.filter((s) => s.id === current || (s.id !== self && rank(s.level) > rank(level))).sort(byLevelThenName);
    replaceChildren(select, h('option', { value: '' }, m.noParent), choices.map((s) => h('option', { value: s.id, selected: s.id === current }, `${s.name} (${m.level(s.level)})`)));
  }

  /** A form whose submit runs `save`, showing its refusal under it and keeping what was typed. */
  function savingForm(testid: string, save: () => Promise<string | undefined>, ...children: HTMLElement[]): HTMLFormElement {
    const error = h('p', { class: 'inline-error', role: 'alert', testid: `${testid}-error`, hidden: true });
    const form = h('form', { class: 'site-form', testid }, ...children, error);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      error.hidden = true;
      save().then((note) => reload(note ?? m.saved), (err: unknown) => {
        error.textContent = errorText(err);
        error.hidden = false;
      });
    });
    return form;
  }

  function editForm(site: Site): HTMLFormElement {
    const name = h('input', { type: 'text', value: site.name, required: true, maxlength: 200, testid: 'site-name' });
    const parent = h('select', { testid: 'site-parent' });
    const level = levelSelect('site-level', site.level, () => fillParents(parent, level.value as SiteLevel, parent.value || undefined, site.id));
    fillParents(parent, site.level, site.parentId, site.id);
    return savingForm(
      'site-edit',
      async () => {
        await updateSite(site.id, { name: name.value.trim(), level: level.value as SiteLevel, parentId: parent.value || null });
        return undefined;
      },
      field(m.name, name),
      field(m.levelLabel, level),
      field(m.parent, parent),
      h('div', { class: 'site-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'site-save' }, m.save)),
    );
  }

  function readsForForm(site: Site): HTMLFormElement {
    const others = sites.filter((s) => s.id !== site.id).sort(byLevelThenName);
    const boxes = others.map((s) => h('input', { type: 'checkbox', value: s.id, checked: site.readsFor.includes(s.id), testid: `reads-for-${s.id}` }));
    return savingForm(
      'reads-for',
      async () => {
        await setReadsFor(site.id, boxes.filter((b) => b.checked).map((b) => b.value));
        return undefined;
      },
      h('h3', {}, m.readsForTitle),
      h('p', { class: 'muted small' }, m.readsForHelp),
      others.length === 0
        ? h('p', { class: 'muted' }, m.noOthers)
        : h('div', { class: 'site-checks' }, others.map((s, i) => h('label', { class: 'toggle' }, boxes[i], h('span', {}, `${s.name} (${m.level(s.level)})`)))),
      h('div', { class: 'site-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'reads-for-save', disabled: others.length === 0 }, m.save)),
    );
  }

  /** Drawn once the policy has come; a site whose policy cannot be read shows why instead. */
  function policySection(site: Site): HTMLElement {
    const section = h('section', { class: 'site-policy', testid: 'site-policy' }, h('h3', {}, m.policyTitle), h('p', { class: 'muted small' }, '…'));
    getConsultationPolicy(site.id).then((policy) => {
      if (!stopped && selected === site.id) section.replaceWith(policyForm(site, policy));
    }, (err: unknown) => {
      if (!stopped) replaceChildren(section, h('h3', {}, m.policyTitle), h('p', { class: 'inline-error', role: 'alert' }, errorText(err)));
    });
    return section;
  }

  function policyForm(site: Site, policy: ConsultationPolicy): HTMLFormElement {
    const readers = sites.filter((s) => s.readsFor.includes(site.id)).sort(byLevelThenName);
    const routeTo = h('select', { testid: 'policy-route-to' },
      h('option', { value: '' }, m.routeNowhere),
      readers.map((s) => h('option', { value: s.id, selected: s.id === policy.routeToSiteId }, `${s.name} (${m.level(s.level)})`)));
    const disagreement = h('input', { type: 'checkbox', checked: policy.routeOnDisagreement, testid: 'policy-disagreement' });
    const lowConfidence = h('input', { type: 'checkbox', checked: policy.routeOnLowConfidence, testid: 'policy-low-confidence' });
    const sla = Object.fromEntries(URGENCIES.map((u) => [u, h('input', {
      type: 'number', min: 5, max: u === 'routine' ? 43_200 : 10_080, step: 1, required: true,
      value: policy.slaMinutes[u], testid: `policy-sla-${u}`,
    })])) as Record<(typeof URGENCIES)[number], HTMLInputElement>;
    const form = savingForm(
      'policy',
      async () => {
        await setConsultationPolicy(site.id, {
          ...(routeTo.value ? { routeToSiteId: routeTo.value } : {}),
          routeOnDisagreement: disagreement.checked,
          routeOnLowConfidence: lowConfidence.checked,
          slaMinutes: { emergency: sla.emergency.valueAsNumber, urgent: sla.urgent.valueAsNumber, routine: sla.routine.valueAsNumber },
        });
        return undefined;
      },
      h('h3', {}, m.policyTitle),
      field(m.routeTo, routeTo),
      h('p', { class: 'muted small' }, m.routeHelp),
      h('label', { class: 'toggle' }, disagreement, h('span', {}, m.routeOnDisagreement)),
      h('label', { class: 'toggle' }, lowConfidence, h('span', {}, m.routeOnLowConfidence)),
      h('fieldset', { class: 'site-sla' }, h('legend', {}, m.sla), URGENCIES.map((u) => field(m.urgency(u), sla[u]))),
      h('div', { class: 'site-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'policy-save' }, m.save)),
    );
    form.classList.add('site-policy');
    return form;
  }

  function drawDetail(): void {
    const site = sites.find((s) => s.id === selected);
    if (!site) {
      replaceChildren(detail, h('p', { class: 'muted' }, m.pick));
      return;
    }
    replaceChildren(
      detail,
      h('h2', { testid: 'site-detail-title' }, levelBadge(site.level), ' ', m.editing(site.name), ' ', h('span', { class: 'muted small' }, site.id)),
      editForm(site),
      readsForForm(site),
      policySection(site),
    );
  }

  function addForm(): HTMLFormElement {
    const id = h('input', { type: 'text', required: true, maxlength: 63, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', testid: 'new-site-id', autocomplete: 'off' });
    const name = h('input', { type: 'text', required: true, maxlength: 200, testid: 'new-site-name' });
    const parent = h('select', { testid: 'new-site-parent' });
    const level = levelSelect('new-site-level', 'township', () => fillParents(parent, level.value as SiteLevel, parent.value || undefined));
    const form = savingForm(
      'new-site',
      async () => {
        const created = await createSite({ id: id.value.trim(), name: name.value.trim(), level: level.value as SiteLevel, ...(parent.value ? { parentId: parent.value } : {}) });
        selected = created.id;
        form.reset();
        return m.created(created.name);
      },
      h('h2', {}, m.add),
      field(m.id, id),
      field(m.name, name),
      field(m.levelLabel, level),
      field(m.parent, parent),
      h('div', { class: 'site-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'new-site-submit' }, m.create)),
    );
    refreshAddForm = () => fillParents(parent, level.value as SiteLevel, parent.value || undefined);
    return form;
  }

  const isAdmin = ctx.user().roles.includes('admin');
  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), status),
    h('p', { class: 'muted site-intro' }, m.intro),
    !isAdmin && h('p', { class: 'banner banner-error', testid: 'sites-admins-only' }, m.adminsOnly),
    h(
      'div',
      { class: 'sites-layout' },
      h('section', { class: 'site-panel' }, h('h2', {}, m.tree), tree, isAdmin && addForm()),
      isAdmin && detail,
    ),
  );
  void reload();
  return () => {
    stopped = true;
  };
}
