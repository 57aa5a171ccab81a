/**
 * The viewer's first look at a frame: a reduced rendering (the server's 8-bit JPEG, decoded
 * from a coarse level of the image's pyramid) drawn where cornerstone will draw the full
 * frame — fitted to the viewport and centred, as cornerstone's default viewport places an
 * image with square pixels — so the reader sees the film at once and nothing moves when the
 * full frame replaces it. It lies above the image and heatmap canvases and takes no pointer
 * events; the view keeps its tools off until the full frame is on show.
 */

export interface PreviewLayer {
  /**
   * Draws `picture` stretched over the box a full frame of `size` will fill. Resolves true
   * once drawn, false when `settle` or `clear` came first (the full frame won the race).
   */
  draw(picture: Blob, size: { columns: number; rows: number }): Promise<boolean>;
  /** Cancels a preview still decoding; one already drawn stays until `clear`. */
  settle(): void;
  /** Hides the preview and cancels one still decoding. */
  clear(): void;
  remove(): void;
}

export function createPreviewLayer(element: HTMLElement): PreviewLayer {
  const canvas = document.createElement('canvas');
  canvas.className = 'image-overlay';
  canvas.dataset.testid = 'image-preview';
  canvas.hidden = true;
  element.appendChild(canvas);
  let generation = 0;

  return {
    async draw(picture, size) {
      const mine = ++generation;
      const bitmap = await createImageBitmap(picture);
      if (mine !== generation) {
        bitmap.close();
        return false;
      }
      const width = element.clientWidth;
      const height = element.clientHeight;
      // The backing store is in device pixels (the server rendered for them); cornerstone's fit is in CSS pixels.
      const ratio = window.devicePixelRatio || 1;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      const fit = Math.min(width / size.columns, height / size.rows);
      const ctx = canvas.getContext('2d')!;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, width, height);
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(bitmap, (width - size.columns * fit) / 2, (height - size.rows * fit) / 2, size.columns * fit, size.rows * fit);
      bitmap.close();
      canvas.hidden = false;
      return true;
    },
    settle() {
      generation++;
    },
    clear() {
      generation++;
      canvas.hidden = true;
    },
    remove: () => canvas.remove(),
  };
}
