/**
 * The paper's Figures 3-10 as vega-lite specs: per regime, (a) train/validation loss and
 * accuracy, (b) ASR per attack with test accuracy, (c) CLEVER, (d) loss sensitivity and
 * empirical robustness, each a mean line over folds with a +-1 std band. Pure: aggregate in,
 * spec out; rendering lives in render.ts. Never drops a measured point silently: only
 * epochs with no measurement (NaN) are left out.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { EpochSeries, ExperimentAggregate, RegimeAggregate, Source } from './types.js';

export const FIGURE_FONT = 'DejaVu Sans';

export type FigureTopic = 'history' | 'asr' | 'clever' | 'robustness';

export interface FigureDef {
  /** File stem, e.g. `fig4-cifar10-normal-asr`. */
  id: string;
  /** Number of the matching figure in the paper (3-6 first regime, 7-10 second, then on). */
  paperFigure: number;
  regime: string;
  topic: FigureTopic;
  title: string;
  spec: TopLevelSpec;
  sources: Source[];
}

interface Row {
  epoch: number;
  series: string;
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

function rows(series: string, data: EpochSeries): Row[] {
  return data.epochs.flatMap((epoch, i) => {
    const s = data.values[i];
    if (!s || !Number.isFinite(s.mean)) return [];
    const std = Number.isFinite(s.std) ? s.std : 0;
    return [{ epoch, series, mean: s.mean, lo: s.mean - std, hi: s.mean + std, n: s.n }];
  });
}

/**
 * One panel: a +-1 std band (area) under a mean line with points, coloured by series; and,
 * when another run is compared, its mean lines dashed in the same colours.
 */
function panel(
  title: string,
  yTitle: string,
  data: Row[],
  yDomain?: [number, number],
  other: Row[] = [],
) {
  const series = [...new Set([...data, ...other].map((r) => r.series))];
  const x = {
    field: 'epoch',
    type: 'quantitative' as const,
    title: 'epoch',
    axis: { tickMinStep: 1 },
  };
  const color = {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    scale: { domain: series },
    legend: { orient: 'bottom' as const, columns: 2 },
  };
  const y = {
    type: 'quantitative' as const,
    title: yTitle,
    ...(yDomain ? { scale: { domain: yDomain } } : { scale: { zero: false } }),
  };
  const dashed = {
    data: { values: other },
    mark: { type: 'line' as const, strokeDash: [6, 4], strokeWidth: 1.5 },
    encoding: { x, y: { ...y, field: 'mean' }, color },
  };
  return {
    title,
    width: 320,
    height: 200,
    layer: [
      {
        data: { values: data },
        mark: { type: 'area' as const, opacity: 0.18 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      {
        data: { values: data },
        mark: { type: 'line' as const, point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { ...y, field: 'mean' },
          color,
          tooltip: [
            { field: 'series', type: 'nominal' as const },
            { field: 'epoch', type: 'quantitative' as const },
            { field: 'mean', type: 'quantitative' as const, format: '.4f' },
            { field: 'n', type: 'quantitative' as const, title: 'folds' },
          ],
        },
      },
      ...(other.length > 0 ? [dashed] : []),
    ],
  };
}

const CONFIG = {
  font: FIGURE_FONT,
  background: 'white',
  view: { stroke: '#ccc' },
  // The band's fill is faint; the legend shows the line's colour instead.
  legend: { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 },
};

function single(title: string, p: ReturnType<typeof panel>): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    ...p,
    title,
  } as TopLevelSpec;
}

function pair(
  title: string,
  a: ReturnType<typeof panel>,
  b: ReturnType<typeof panel>,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    title,
    hconcat: [a, b],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

/** The run drawn dashed over this one's curves, and how the figures name it. */
export interface Overlay {
  label: string;
  aggregate: ExperimentAggregate;
}

/** This run's rows of a figure, and the compared run's rows built the same way. */
type Both = (r: RegimeAggregate) => Row[];

function regimeFigures(
  dataset: string,
  r: RegimeAggregate,
  index: number,
  overlay?: Overlay,
): FigureDef[] {
  const base = 3 + 4 * index;
  const cite = (...holds: Source['holds'][]) => r.sources.filter((s) => holds.includes(s.holds));
  const peer = overlay?.aggregate.regimes.find((o) => o.regime === r.regime);
  const dashedNote = overlay && peer ? ` (dashed: ${overlay.label})` : '';
  const label = `${dataset}, ${r.regime} regime, mean ± 1 std over ${r.folds.length} folds${dashedNote}`;
  const of = (rowsOf: Both): [Row[], Row[]] => [rowsOf(r), peer ? rowsOf(peer) : []];
  const draw = (title: string, yTitle: string, rowsOf: Both, yDomain?: [number, number]) => {
    const [mine, theirs] = of(rowsOf);
    return panel(title, yTitle, mine, yDomain, theirs);
  };
  const stem = 'fig';
  const tag = `${dataset}-${r.regime}`;
  const attacks = Object.keys(r.asr);
  return [
    {
      id: `${stem}${base}-${tag}-history`,
      paperFigure: base,
      regime: r.regime,
      topic: 'history',
      title: `Training history (${label})`,
      spec: pair(
        `Training history — ${label}`,
        draw('Loss', 'loss', (x) => [
          ...rows('train loss', x.history.loss),
          ...rows('validation loss', x.history.val_loss),
        ]),
        draw(
          'Accuracy',
          'accuracy',
          (x) => [
            ...rows('train accuracy', x.history.acc),
            ...rows('validation accuracy', x.history.val_acc),
          ],
          [0, 1],
        ),
      ),
      sources: cite('history'),
    },
    {
      id: `${stem}${base + 1}-${tag}-asr`,
      paperFigure: base + 1,
      regime: r.regime,
      topic: 'asr',
      title: `Attack success rate per epoch and test accuracy (${label})`,
      spec: single(
        `ASR and test accuracy — ${label}`,
        draw(
          'Snapshots of every epoch vs the adversarial sets of the selected snapshot',
          'rate',
          (x) => [
            ...attacks.flatMap((a) => (x.asr[a] ? rows(`ASR ${a}`, x.asr[a]) : [])),
            ...rows('test accuracy', x.testAccuracy),
          ],
          [0, 1],
        ),
      ),
      sources: cite('evaluation'),
    },
    {
      id: `${stem}${base + 2}-${tag}-clever`,
      paperFigure: base + 2,
      regime: r.regime,
      topic: 'clever',
      title: `CLEVER score per epoch (${label})`,
      spec: single(
        `CLEVER — ${label}`,
        draw('Untargeted CLEVER', 'CLEVER score', (x) => rows('CLEVER', x.clever)),
      ),
      sources: cite('metrics'),
    },
    {
      id: `${stem}${base + 3}-${tag}-robustness`,
      paperFigure: base + 3,
      regime: r.regime,
      topic: 'robustness',
      title: `Loss sensitivity and empirical robustness per epoch (${label})`,
      spec: pair(
        `Loss sensitivity and empirical robustness — ${label}`,
        draw('Loss sensitivity', 'mean ‖∂loss/∂x‖₂', (x) =>
          rows('loss sensitivity', x.lossSensitivity),
        ),
        draw('Empirical robustness', 'mean ‖δ‖ / ‖x‖ (FGSM)', (x) =>
          rows('empirical robustness', x.empiricalRobustness),
        ),
      ),
      sources: cite('metrics'),
    },
  ];
}

/** The figures of one dataset; with an overlay, that run's curves of the same dataset dashed. */
export function figureDefs(aggregate: ExperimentAggregate, overlay?: Overlay): FigureDef[] {
  return aggregate.regimes.flatMap((r, i) => regimeFigures(aggregate.dataset, r, i, overlay));
}
