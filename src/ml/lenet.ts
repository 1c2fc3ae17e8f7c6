/**
 * LeNet as PAPER.md defines it (Keras style): conv 6@5x5 -> max-pool 2 -> conv 16@5x5 ->
 * max-pool 2 -> flatten -> dense 120 -> dense 84 -> dense 10 ('logits', linear) -> softmax.
 * Logits are a named layer of their own so attacks and metrics can use them
 * (see classifier.ts). Weights are initialised from seeds derived from one master seed,
 * so the same seed gives byte-identical weights.
 * Must never compile the model or pick an optimizer: training owns that (train.ts).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { LOGITS_LAYER } from './classifier.js';
import { deriveSeed } from './rng.js';

export type LeNetActivation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'selu';

export interface LeNetConfig {
  /** [height, width, channels]; e.g. [28, 28, 1], [32, 32, 3], [96, 96, 3]. */
  inputShape: [number, number, number];
  /** Master seed for weight initialisation. */
  seed: number;
  /** Hidden activation (conv and dense 120/84). Default 'relu' (PAPER.md, ours). */
  activation?: LeNetActivation;
  /** Number of classes. Default 10. */
  numClasses?: number;
  /** Convolution padding. Default 'valid' (Keras default); 'valid' needs inputs >= 16x16. */
  padding?: 'valid' | 'same';
}

/** Layer names, fixed so that saved models and weight names do not depend on build order. */
export const LENET_LAYERS = [
  'conv1',
  'pool1',
  'conv2',
  'pool2',
  'flatten',
  'fc1',
  'fc2',
  LOGITS_LAYER,
  'probabilities',
] as const;

/** Spatial size after conv(5, valid|same) + pool(2), twice; throws when it would vanish. */
function checkSpatial(size: number, padding: 'valid' | 'same', axis: string): void {
  let s = size;
  for (let i = 0; i < 2; i++) {
    if (padding === 'valid') s -= 4;
    s = Math.floor(s / 2);
  }
  if (s < 1) {
    throw new Error(
      `LeNet input ${axis} ${size} is too small for padding '${padding}'; need at least ${padding === 'valid' ? 16 : 4}`,
    );
  }
}

export function buildLeNet(config: LeNetConfig): tfl.Sequential {
  const { inputShape, seed } = config;
  const activation = config.activation ?? 'relu';
  const numClasses = config.numClasses ?? 10;
  const padding = config.padding ?? 'valid';
  const [h, w, c] = inputShape;
  for (const v of inputShape) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`bad LeNet input shape [${inputShape}]`);
  }
  checkSpatial(h, padding, 'height');
  checkSpatial(w, padding, 'width');
  const init = (layer: string) => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(seed, layer, 'kernel') }),
    biasInitializer: 'zeros' as const,
  });
  const model = tfl.sequential({ name: 'lenet' });
  model.add(
    tfl.layers.conv2d({
      name: 'conv1',
      inputShape: [h, w, c],
      filters: 6,
      kernelSize: 5,
      padding,
      activation,
      ...init('conv1'),
    }),
  );
  model.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }));
  model.add(
    tfl.layers.conv2d({
      name: 'conv2',
      filters: 16,
      kernelSize: 5,
      padding,
      activation,
      ...init('conv2'),
    }),
  );
  model.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ name: 'fc1', units: 120, activation, ...init('fc1') }));
  model.add(tfl.layers.dense({ name: 'fc2', units: 84, activation, ...init('fc2') }));
  model.add(
    tfl.layers.dense({
      name: LOGITS_LAYER,
      units: numClasses,
      activation: 'linear',
      ...init(LOGITS_LAYER),
    }),
  );
  model.add(tfl.layers.activation({ name: 'probabilities', activation: 'softmax' }));
  return model;
}
