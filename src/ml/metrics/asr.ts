/**
 * Attack success: the paper's ASR (1 - accuracy on the adversarial set) and the stricter
 * flip-based success rate (an example counts only if the model was right on the clean input
 * and wrong on the adversarial one). On a set of correctly classified inputs they coincide.
 * Pure functions of label arrays.
 */

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) {
    throw new Error(`${predicted.length} predictions for ${labels.length} labels`);
  }
  if (labels.length === 0) return Number.NaN;
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}

/** 1 - accuracy of the model on the adversarial examples (the paper's ASR). */
export function attackSuccessRate(
  advPredicted: ArrayLike<number>,
  labels: ArrayLike<number>,
): number {
  return 1 - accuracy(advPredicted, labels);
}

/** Per example: the label flipped, i.e. right on the clean input and wrong on the adversarial one. */
export function flipMask(
  labels: ArrayLike<number>,
  cleanPredicted: ArrayLike<number>,
  advPredicted: ArrayLike<number>,
): Uint8Array {
  if (cleanPredicted.length !== labels.length || advPredicted.length !== labels.length) {
    throw new Error('labels, clean and adversarial predictions must have the same length');
  }
  return Uint8Array.from({ length: labels.length }, (_, i) =>
    cleanPredicted[i] === labels[i] && advPredicted[i] !== labels[i] ? 1 : 0,
  );
}

export interface AttackOutcome {
  examples: number;
  /** Examples the model classifies correctly without attack. */
  cleanCorrect: number;
  /** Of those, examples whose label the attack flipped. */
  flipped: number;
  /** 1 - accuracy on the adversarial set (the paper's ASR). */
  asr: number;
  /** flipped / cleanCorrect (NaN when no example was classified correctly). */
  flipRate: number;
}

export function attackOutcome(
  labels: ArrayLike<number>,
  cleanPredicted: ArrayLike<number>,
  advPredicted: ArrayLike<number>,
): AttackOutcome {
  const flips = flipMask(labels, cleanPredicted, advPredicted);
  let cleanCorrect = 0;
  let flipped = 0;
  for (let i = 0; i < labels.length; i++) {
    if (cleanPredicted[i] === labels[i]) cleanCorrect++;
    flipped += flips[i] as number;
  }
  return {
    examples: labels.length,
    cleanCorrect,
    flipped,
    asr: attackSuccessRate(advPredicted, labels),
    flipRate: cleanCorrect === 0 ? Number.NaN : flipped / cleanCorrect,
  };
}
