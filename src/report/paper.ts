/**
 * The paper's Tables 2-5 (Pedraza, Deniz, Bueno 2021; ../shared/PAPER.md), to print next to
 * a run's own values. Published data, keyed by the dataset and attack names the pipeline
 * uses; any other dataset has no published value.
 */
import type { DistanceRow, Stat } from './types.js';

type Published = Record<'l0' | 'l2' | 'linf', [mean: number, std: number]>;

const TABLES: Record<string, Record<string, Record<string, Published>>> = {
  cifar10: {
    normal: {
      cw: { l0: [1024.0, 0.0], l2: [0.43, 0.48], linf: [0.07, 0.06] },
      fgsm: { l0: [1017.92, 25.3], l2: [8.93, 0.48], linf: [0.3, 0.0] },
      pgd: { l0: [1018.99, 20.87], l2: [8.1, 0.57], linf: [0.3, 0.0] },
    },
    overfitting: {
      cw: { l0: [1024.0, 0.0], l2: [0.49, 1.15], linf: [0.06, 0.08] },
      fgsm: { l0: [1017.19, 27.86], l2: [8.64, 0.52], linf: [0.3, 0.0] },
      pgd: { l0: [1019.08, 20.05], l2: [7.62, 0.45], linf: [0.3, 0.0] },
    },
  },
  stl10: {
    normal: {
      cw: { l0: [9216.0, 0.0], l2: [0.97, 1.42], linf: [0.06, 0.06] },
      fgsm: { l0: [8969.59, 387.89], l2: [26.41, 1.39], linf: [0.3, 0.0] },
      pgd: { l0: [9049.55, 262.61], l2: [23.37, 1.17], linf: [0.3, 0.0] },
    },
    overfitting: {
      cw: { l0: [9216.0, 0.0], l2: [0.82, 2.37], linf: [0.06, 0.07] },
      fgsm: { l0: [8951.35, 408.8], l2: [26.04, 1.47], linf: [0.3, 0.0] },
      pgd: { l0: [9021.16, 289.93], l2: [23.32, 1.29], linf: [0.3, 0.0] },
    },
  },
};

export const publishedDatasets = (): string[] => Object.keys(TABLES);

/** The paper's row for (dataset, regime, attack), as Stats (n unknown: 0). */
export function paperRow(
  dataset: string,
  regime: string,
  attack: string,
): Pick<DistanceRow, 'l0' | 'l2' | 'linf'> | undefined {
  const row = TABLES[dataset]?.[regime]?.[attack.toLowerCase()];
  if (!row) return undefined;
  const stat = ([mean, std]: [number, number]): Stat => ({ mean, std, n: 0 });
  return { l0: stat(row.l0), l2: stat(row.l2), linf: stat(row.linf) };
}
