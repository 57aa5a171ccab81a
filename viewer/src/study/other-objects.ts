/**
 * The study's objects that are not images — reports (SR), key object selections, presentation
 * states, segmentations — listed by kind in the study view: stored with the study and never read
 * by AI, so the reader knows they are there without a frame that cannot be drawn.
 */
import type { Instance } from '../api.ts';
import { h } from '../dom.ts';
import { defineMessages } from '../i18n.ts';
import { isDisplayable } from './image-pane.ts';

/** What each modality of a non-image object is, in both languages; another is named by its modality. */
const KINDS: Record<string, { en: string; zh: string }> = {
  SR: { en: 'Structured report', zh: '结构化报告' },
  KO: { en: 'Key object selection', zh: '关键对象选择' },
  PR: { en: 'Presentation state', zh: '显示状态' },
  SEG: { en: 'Segmentation', zh: '分割' },
};

const msg = defineMessages({
  en: {
    title: (n: number) => `Other objects in this study (${n})`,
    note: 'Stored with the study; no image to show, not read by AI.',
    kind: (modality: string | undefined) => `${(modality && KINDS[modality]?.en) ?? 'Object without pixel data'}${modality ? ` (${modality})` : ''}`,
  },
  zh: {
    title: (n: number) => `本检查的其他对象（${n}）`,
    note: '随检查保存；没有可显示的图像，不经 AI 阅读。',
    kind: (modality: string | undefined) => `${(modality && KINDS[modality]?.zh) ?? '无像素数据的对象'}${modality ? `（${modality}）` : ''}`,
  },
});

/** The list, or nothing when every listed instance is an image. */
export function otherObjects(instances: readonly Instance[]): HTMLElement | undefined {
  const others = instances.filter((i) => !isDisplayable(i));
  if (others.length === 0) return undefined;
  const m = msg();
  return h('section', { class: 'other-objects', testid: 'other-objects', 'aria-label': m.title(others.length) },
    h('h3', {}, m.title(others.length)),
    h('p', { class: 'muted small' }, m.note),
    h('ul', {}, ...others.map((i) => h('li', { 'data-sop': i.sopInstanceUid, testid: 'other-object' }, m.kind(i.modality)))),
  );
}
