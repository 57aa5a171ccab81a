// cornerstone-core 2.6 ships no types. These cover only what this folder uses;
// nothing outside viewer/src/imaging may import cornerstone-core.
declare module 'cornerstone-core' {
  export interface CornerstoneImage {
    imageId: string;
    minPixelValue: number;
    maxPixelValue: number;
    slope: number;
    intercept: number;
    windowCenter: number;
    windowWidth: number;
    getPixelData(): ArrayLike<number>;
    rows: number;
    columns: number;
    height: number;
    width: number;
    color: boolean;
    invert: boolean;
    sizeInBytes: number;
    columnPixelSpacing?: number;
    rowPixelSpacing?: number;
    rgba?: boolean;
  }

  export interface Viewport {
    scale: number;
    translation: { x: number; y: number };
    voi: { windowWidth: number; windowCenter: number };
    invert: boolean;
    pixelReplication: boolean;
    rotation: number;
    hflip: boolean;
    vflip: boolean;
  }

  export interface EnabledElement {
    element: HTMLElement;
    canvas: HTMLCanvasElement;
    image?: CornerstoneImage;
    viewport?: Viewport;
  }

  export type ImageLoader = (
    imageId: string,
    options?: unknown,
  ) => { promise: Promise<CornerstoneImage>; cancelFn?: () => void };

  export function enable(element: HTMLElement, options?: { renderer?: 'webgl' }): void;
  export function disable(element: HTMLElement): void;
  export function registerImageLoader(scheme: string, loader: ImageLoader): void;
  export function loadImage(imageId: string, options?: unknown): Promise<CornerstoneImage>;
  export function displayImage(element: HTMLElement, image: CornerstoneImage, viewport?: Partial<Viewport>): void;
  export function getDefaultViewportForImage(element: HTMLElement, image: CornerstoneImage): Viewport;
  export function getViewport(element: HTMLElement): Viewport | undefined;
  export function setViewport(element: HTMLElement, viewport: Partial<Viewport>): void;
  export function getEnabledElement(element: HTMLElement): EnabledElement;
  export function setToPixelCoordinateSystem(
    enabledElement: EnabledElement,
    context: CanvasRenderingContext2D,
    scale?: number,
  ): void;
  export function resize(element: HTMLElement, forceFitToWindow?: boolean): void;
  export function reset(element: HTMLElement): void;
  export function updateImage(element: HTMLElement, invalidated?: boolean): void;
  export const EVENTS: { IMAGE_RENDERED: string; [name: string]: string };
}
