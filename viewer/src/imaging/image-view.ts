/**
 * What the rest of the viewer knows of the image renderer. Everything outside this folder
 * talks to `ImageView`, so the renderer can be swapped (cornerstone3D, a plain canvas) by
 * rewriting `createImageView` (cornerstone-view.ts) and the parts it is built from here,
 * without touching a caller.
 */
import type { Heatmap, ImageAttributes } from '../api.ts';

export interface ViewState {
  windowCenter: number;
  windowWidth: number;
  /** Screen pixels per image pixel. */
  scale: number;
  /** Image pixels the image centre is moved from the viewport centre. */
  translation: { x: number; y: number };
  /** Greys flipped relative to how the image asks to be shown (MONOCHROME1 is already flipped once). */
  invert: boolean;
}

export interface VoiWindow {
  center: number;
  width: number;
}

/** What window presets need to know about the image on show. */
export interface ImageInfo {
  /** The window the DICOM header declares, else one over the 0.5th..99.5th percentiles of the values (the server's rule). */
  defaultWindow: VoiWindow;
  defaultBasis: 'dicom' | 'percentile';
  /**
   * The value (in modality units) below which fraction `q` of the pixels lie, counting from
   * the darkest as displayed: for MONOCHROME1 that is from the highest stored value down.
   */
  displayQuantile(q: number): number;
  color: boolean;
}

export interface ImageView {
  /**
   * Shows one decoded frame, in place of any preview; resolves once it is drawn. Throws on
   * bytes that do not match `image`.
   */
  show(image: ImageAttributes, pixels: ArrayBuffer, key: string): Promise<ImageInfo>;
  /**
   * Shows a reduced rendering of the frame to come (full size `size`) exactly where that frame
   * will be drawn; until `show` draws it, the view has no viewport and its tools do nothing.
   * Resolves true once drawn, false when `show` or `clearPreview` came first.
   */
  showPreview(picture: Blob, size: { columns: number; rows: number }): Promise<boolean>;
  /** Removes the preview when no frame will replace it (it failed to load). */
  clearPreview(): void;
  setWindow(window: VoiWindow): void;
  setInvert(invert: boolean): void;
  /** Multiplies the zoom, keeping the viewport centre still. */
  zoomBy(factor: number): void;
  /** Moves the image by screen pixels. */
  panBy(dx: number, dy: number): void;
  /** Back to fit-to-window, the image's own window and no inversion. */
  resetView(): void;
  getViewport(): ViewState | undefined;
  /** Overlay a model's class-activation map (values normalised to their max); `null` hides it. */
  setHeatmap(heatmap: Heatmap | null): void;
  /** 0 (invisible) to 1; applies to the current and any later heatmap. */
  setHeatmapOpacity(opacity: number): void;
  /** Called after every render with the current state (for W/L and zoom readouts). */
  onChange(listener: (state: ViewState) => void): void;
  destroy(): void;
}
