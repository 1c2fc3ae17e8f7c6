/**
 * Empirical robustness (Moosavi-Dezfooli et al. 2016) as IBM ART's `empirical_robustness`
 * with "fgsm": FGSM in minimal mode (eps = eps_step, 2 eps_step, ... up to eps, labels = the
 * model's own predictions), then the mean over the examples whose predicted label changed of
 * ||x_adv - x|| / ||x|| in the attack's norm; 0 when no label changed. Never keeps tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  definedOnly,
  exampleNorm,
  type Norm,
  predictLabels,
  type RunOptions,
} from '../attacks/common.js';
import { FGSM_DEFAULTS, fgsm } from '../attacks/fgsm.js';
import type { Classifier } from '../classifier.js';

export interface EmpiricalRobustnessParams {
  norm: Norm;
  /** Largest eps tried. */
  eps: number;
  epsStep: number;
  batchSize: number;
}

/** ART: FastGradientMethod defaults with eps_step 0.1 (ART's `eps_max` key is ignored by ART). */
export const EMPIRICAL_ROBUSTNESS_DEFAULTS: Readonly<EmpiricalRobustnessParams> = {
  norm: FGSM_DEFAULTS.norm,
  eps: FGSM_DEFAULTS.eps,
  epsStep: 0.1,
  batchSize: FGSM_DEFAULTS.batchSize,
};

export interface EmpiricalRobustness {
  /** Mean relative perturbation over flipped examples; 0 if none flipped (as ART). */
  value: number;
  flipped: number;
  examples: number;
}

export async function empiricalRobustness(
  classifier: Classifier,
  x: tf.Tensor4D,
  options: Partial<EmpiricalRobustnessParams> & RunOptions = {},
): Promise<EmpiricalRobustness> {
  const p = { ...EMPIRICAL_ROBUSTNESS_DEFAULTS, ...definedOnly(options) };
  const n = x.shape[0];
  // The predictions at x are FGSM's labels too (ART attacks the model's own predictions).
  const before = await predictLabels(classifier, x, p.batchSize);
  const adv = await fgsm(classifier, x, {
    labels: before,
    norm: p.norm,
    eps: p.eps,
    epsStep: p.epsStep,
    batchSize: p.batchSize,
    minimal: true,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  try {
    const after = await predictLabels(classifier, adv, p.batchSize);
    const [pertNorm, xNorm] = tf.tidy(() => [
      exampleNorm(tf.sub(adv, x), p.norm),
      exampleNorm(x, p.norm),
    ]);
    const pert = await pertNorm.data();
    const base = await xNorm.data();
    tf.dispose([pertNorm, xNorm]);
    let sum = 0;
    let flipped = 0;
    for (let i = 0; i < n; i++) {
      if (before[i] === after[i]) continue;
      flipped++;
      sum += (pert[i] as number) / (base[i] as number);
    }
    return { value: flipped === 0 ? 0 : sum / flipped, flipped, examples: n };
  } finally {
    adv.dispose();
  }
}
