/**
 * Stage kind `metrics`: robustness metrics of every epoch snapshot of one training run
 * (Figures 5, 6, 9, 10): untargeted CLEVER, loss sensitivity and empirical robustness, on
 * the first test images (a parameter). tfjs is loaded inside `run` only.
 */

/** What metrics.json holds: one value per epoch in each series. */
export interface MetricsFile {
  stage: string;
  regime: string;
  fold: number;
  epochs: number[];
  clever: number[];
  lossSensitivity: number[];
  empiricalRobustness: number[];
}
