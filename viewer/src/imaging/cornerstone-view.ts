/**
 * `ImageView` (image-view.ts) on cornerstone-core: assembles the parts beside it — the
 * frame as a cornerstone image (cornerstone-image.ts), viewport changes
 * (viewport-control.ts), the mouse tools (pointer-tools.ts), the heatmap overlay
 * (heatmap-overlay.ts) and the first-look preview (preview-layer.ts). Nothing outside this
 * folder imports cornerstone-core.
 */
import * as cornerstone from 'cornerstone-core';
import { stageImage } from './cornerstone-image.ts';
import { createHeatmapOverlay } from './heatmap-overlay.ts';
import type { ImageView, ViewState } from './image-view.ts';
import { attachPointerTools } from './pointer-tools.ts';
import { createPreviewLayer } from './preview-layer.ts';
import { viewportControl } from './viewport-control.ts';

/**
 * Makes `element` an image viewport: left drag = window/level, middle or shift+left
 * drag = pan, wheel = zoom. `element` must have a size (cornerstone sizes its canvas
 * from the element's client box).
 */
export function createImageView(element: HTMLElement): ImageView {
  cornerstone.enable(element);
  const enabled = cornerstone.getEnabledElement(element);
  enabled.canvas.dataset.testid = 'image-canvas';

  const heatmap = createHeatmapOverlay(element, enabled.canvas);
  const preview = createPreviewLayer(element);
  let listener: ((s: ViewState) => void) | undefined;
  let shown = false;
  /** While a preview stands for the frame to come, the tools (which act on a full frame only) have no viewport. */
  let previewing = false;
  /** Called once cornerstone has drawn the frame `show` was given. */
  let onDrawn: (() => void) | undefined;
  const viewport = viewportControl(element, () => shown && !previewing);

  const onRendered = () => {
    heatmap.draw();
    // The preview goes in the same animation frame as the full frame is drawn under it: no blank frame between.
    if (onDrawn) {
      preview.clear();
      onDrawn();
      onDrawn = undefined;
    }
    const s = viewport.state();
    if (s && listener) listener(s);
  };
  element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);

  const detachPointerTools = attachPointerTools(element, viewport);

  const resizeObserver = new ResizeObserver(() => {
    if (shown) cornerstone.resize(element, false);
  });
  resizeObserver.observe(element);

  return {
    async show(attrs, pixels, key) {
      const { imageId, info } = stageImage(attrs, pixels, key);
      const image = await cornerstone.loadImage(imageId);
      preview.settle();
      // A frame shown before the last one was drawn is replaced: its caller need wait no longer.
      onDrawn?.();
      const drawn = new Promise<void>((resolve) => {
        onDrawn = resolve;
      });
      cornerstone.displayImage(element, image, cornerstone.getDefaultViewportForImage(element, image));
      shown = true;
      previewing = false;
      await drawn;
      return info;
    },
    async showPreview(picture, size) {
      const drawn = await preview.draw(picture, size);
      if (drawn) previewing = true;
      return drawn;
    },
    clearPreview() {
      preview.clear();
      previewing = false;
    },
    setWindow({ center, width }) {
      viewport.update((vp) => {
        vp.voi = { windowCenter: center, windowWidth: Math.max(1, width) };
      });
    },
    setInvert(invert) {
      viewport.update((vp, image) => {
        vp.invert = invert !== image.invert;
      });
    },
    zoomBy(factor) {
      viewport.zoomAt(factor, 0, 0);
    },
    panBy: viewport.panBy,
    resetView() {
      if (shown && !previewing) cornerstone.reset(element);
    },
    getViewport: viewport.state,
    setHeatmap: heatmap.set,
    setHeatmapOpacity: heatmap.setOpacity,
    onChange(fn) {
      listener = fn;
    },
    destroy() {
      resizeObserver.disconnect();
      element.removeEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
      detachPointerTools();
      cornerstone.disable(element);
      heatmap.remove();
      preview.remove();
    },
  };
}
