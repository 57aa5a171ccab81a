/**
 * The mouse tools on an image viewport: left drag = window/level, middle or shift+left
 * drag = pan, wheel = zoom about the pointer.
 */
import type { ViewportControl } from './viewport-control.ts';

/** Puts the tools on `element`; returns what takes them off again. */
export function attachPointerTools(element: HTMLElement, viewport: ViewportControl): () => void {
  type Drag = { mode: 'window' | 'pan'; x: number; y: number; pointerId: number };
  let drag: Drag | null = null;

  const onPointerDown = (e: PointerEvent) => {
    if (!viewport.isShown()) return;
    const pan = e.button === 1 || (e.button === 0 && e.shiftKey);
    if (!pan && e.button !== 0) return;
    e.preventDefault(); // middle button would otherwise start autoscroll
    element.setPointerCapture(e.pointerId);
    drag = { mode: pan ? 'pan' : 'window', x: e.clientX, y: e.clientY, pointerId: e.pointerId };
  };
  const onPointerMove = (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.pointerId) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    if (drag.mode === 'pan') {
      viewport.panBy(dx, dy);
      return;
    }
    viewport.update((vp, image) => {
      // One screen pixel moves the window by ~1/400 of the image's value range, so a
      // drag across the viewport sweeps the whole range whatever the bit depth.
      const range = Math.max((image.maxPixelValue - image.minPixelValue) * Math.abs(image.slope), 1);
      const step = range / 400;
      vp.voi.windowWidth = Math.max(1, vp.voi.windowWidth + dx * step);
      vp.voi.windowCenter += dy * step;
    });
  };
  const onPointerUp = (e: PointerEvent) => {
    if (drag && e.pointerId === drag.pointerId) {
      element.releasePointerCapture(e.pointerId);
      drag = null;
    }
  };
  const onWheel = (e: WheelEvent) => {
    if (!viewport.isShown()) return;
    e.preventDefault();
    const r = element.getBoundingClientRect();
    viewport.zoomAt(Math.pow(1.0015, -e.deltaY), e.clientX - r.left - r.width / 2, e.clientY - r.top - r.height / 2);
  };
  const onContextMenu = (e: Event) => e.preventDefault();
  // Chromium starts middle-button autoscroll on mousedown, not pointerdown.
  const onMouseDown = (e: MouseEvent) => {
    if (e.button === 1) e.preventDefault();
  };
  const listeners: [string, EventListener, AddEventListenerOptions?][] = [
    ['mousedown', onMouseDown as EventListener],
    ['pointerdown', onPointerDown as EventListener],
    ['pointermove', onPointerMove as EventListener],
    ['pointerup', onPointerUp as EventListener],
    ['pointercancel', onPointerUp as EventListener],
    ['wheel', onWheel as EventListener, { passive: false }],
    ['contextmenu', onContextMenu],
  ];
  for (const [type, fn, options] of listeners) element.addEventListener(type, fn, options);
  return () => {
    for (const [type, fn] of listeners) element.removeEventListener(type, fn);
  };
}
