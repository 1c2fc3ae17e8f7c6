/**
 * The in-memory image set every reader produces and every consumer (training, attacks)
 * takes: NHWC float32 pixels in [0, 1] and integer labels. Plain typed arrays, no tensors,
 * so data code is testable without a backend and tensors are made one batch at a time.
 * Must never hold pixels outside [0, 1] or labels outside [0, numClasses).
 */
import { loadNpy, saveNpy } from './npy.js';

export interface ImageDataset {
  /** n*h*w*c values, NHWC, in [0, 1]. */
  images: Float32Array;
  /** n labels in [0, numClasses). */
  labels: Int32Array;
  /** [n, h, w, c]. */
  shape: [number, number, number, number];
  numClasses: number;
}

export class DatasetError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'DatasetError';
  }
}

/** Throws a DatasetError naming `where` when sizes, pixel range or labels are inconsistent. */
export function checkDataset(ds: ImageDataset, where: string): void {
  const [n, h, w, c] = ds.shape;
  if (ds.images.length !== n * h * w * c) {
    throw new DatasetError(where, `${ds.images.length} pixel values for shape [${ds.shape}]`);
  }
  if (ds.labels.length !== n)
    throw new DatasetError(where, `${ds.labels.length} labels for ${n} images`);
  for (let i = 0; i < n; i++) {
    const y = ds.labels[i] as number;
    if (!(y >= 0 && y < ds.numClasses)) {
      throw new DatasetError(where, `label ${y} at index ${i} is outside [0, ${ds.numClasses})`);
    }
  }
  for (let i = 0; i < ds.images.length; i++) {
    const v = ds.images[i] as number;
    if (!(v >= 0 && v <= 1)) {
      throw new DatasetError(where, `pixel value ${v} at index ${i} is outside [0, 1]`);
    }
  }
}

/** Number of values in one image. */
export function imageSize(ds: ImageDataset): number {
  return ds.shape[1] * ds.shape[2] * ds.shape[3];
}

/** The images at `indices`, in that order (copied). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const size = imageSize(ds);
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!(i >= 0 && i < ds.shape[0]))
      throw new RangeError(`index ${i} outside [0, ${ds.shape[0]})`);
    images.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i] as number;
  }
  return {
    images,
    labels,
    shape: [indices.length, ds.shape[1], ds.shape[2], ds.shape[3]],
    numClasses: ds.numClasses,
  };
}

/** Writes `images.npy` (float32 NHWC) and `labels.npy` (int32) as numpy opens them. */
export function saveDatasetNpy(imagesPath: string, labelsPath: string, ds: ImageDataset): void {
  saveNpy(imagesPath, ds.shape, ds.images);
  saveNpy(labelsPath, [ds.labels.length], ds.labels);
}

/** Reads an image set written by saveDatasetNpy (or numpy: float32 NHWC, int32/uint8 labels). */
export function loadDatasetNpy(
  imagesPath: string,
  labelsPath: string,
  numClasses = 10,
): ImageDataset {
  const images = loadNpy(imagesPath);
  const labels = loadNpy(labelsPath);
  if (images.dtype !== 'float32' || images.shape.length !== 4) {
    throw new DatasetError(
      imagesPath,
      `expected float32 images [n, h, w, c]; got ${images.dtype} [${images.shape}]`,
    );
  }
  if ((labels.dtype !== 'int32' && labels.dtype !== 'uint8') || labels.shape.length !== 1) {
    throw new DatasetError(
      labelsPath,
      `expected int32 or uint8 labels [n]; got ${labels.dtype} [${labels.shape}]`,
    );
  }
  const ds: ImageDataset = {
    images: images.data as Float32Array,
    labels: labels.data instanceof Int32Array ? labels.data : Int32Array.from(labels.data),
    shape: images.shape as [number, number, number, number],
    numClasses,
  };
  checkDataset(ds, `${imagesPath} + ${labelsPath}`);
  return ds;
}
