/**
 * `advrob-dag dag` for the terminal: stages in dependency levels, a foreach expansion shown as
 * one node `train[*] ×4`, each with the groups it reads from. (DOT and Mermaid output are the
 * engine's.) Pure: view in, text out; with `color: false` no escape bytes.
 */
import type { DagView } from '../dag/events.js';
import { groupName } from './state.js';
import { padEnd, painter, truncate } from './text.js';

export interface DagRenderOptions {
  color: boolean;
  width: number;
  /** One node per concrete stage instead of one per foreach group. */
  expand?: boolean;
}

interface Node {
  label: string;
  /** The first stage of the node: a foreach that expanded to one stage is shown as it. */
  firstId: string;
  kind: string;
  count: number;
  dependsOn: Set<string>;
}

export function renderDag(view: DagView, opts: DagRenderOptions): string {
  const paint = painter(opts.color);
  const width = Math.max(opts.width, 30);
  const nodeOf = new Map<string, string>();
  const nodes = new Map<string, Node>();
  for (const stage of view.stages) {
    const grouped = !opts.expand && stage.id !== stage.name;
    const key = opts.expand ? stage.id : stage.name;
    const label = grouped ? `${stage.name}[*]` : opts.expand ? stage.id : stage.name;
    nodeOf.set(stage.id, key);
    const node = nodes.get(key) ?? {
      label,
      firstId: stage.id,
      kind: stage.kind,
      count: 0,
      dependsOn: new Set(),
    };
    node.count += 1;
    if (grouped) node.label = `${stage.name}[*]`;
    nodes.set(key, node);
  }
  for (const node of nodes.values()) if (node.count === 1) node.label = node.firstId;
  for (const stage of view.stages) {
    const node = nodes.get(nodeOf.get(stage.id) ?? '');
    for (const dep of stage.dependsOn) {
      const depKey = nodeOf.get(dep) ?? (opts.expand ? dep : groupName(dep));
      if (depKey !== nodeOf.get(stage.id)) node?.dependsOn.add(depKey);
    }
  }
  if (nodes.size === 0) return `${paint('dim', 'no stages')}\n`;

  const level = levels(nodes);
  const ordered = [...nodes.keys()].sort((a, b) => (level.get(a) ?? 0) - (level.get(b) ?? 0));
  const labelOf = (key: string) => {
    const node = nodes.get(key);
    if (!node) return key;
    return node.count > 1 ? `${node.label} ×${node.count}` : node.label;
  };
  const labelWidth = Math.min(
    Math.max(...ordered.map((k) => Array.from(labelOf(k)).length)),
    Math.floor(width * 0.4),
  );
  const kindWidth = Math.max(...ordered.map((k) => nodes.get(k)?.kind.length ?? 0));
  const showKind = labelWidth + kindWidth + 24 <= width;
  const lines: string[] = [];
  const levelWidth = String(Math.max(...level.values())).length;
  let previousLevel = -1;
  for (const key of ordered) {
    const node = nodes.get(key) as Node;
    const lv = level.get(key) ?? 0;
    const bullet =
      lv === previousLevel
        ? ' '.repeat(levelWidth + 1)
        : paint('dim', `${String(lv).padStart(levelWidth)} `);
    previousLevel = lv;
    const label = padEnd(truncate(labelOf(key), labelWidth), labelWidth);
    const kind = showKind ? `  ${paint('dim', padEnd(node.kind, kindWidth))}` : '';
    const used = levelWidth + 1 + labelWidth + (showKind ? kindWidth + 2 : 0);
    const deps = [...node.dependsOn].map((d) => nodes.get(d)?.label ?? d);
    const room = width - used - 4;
    const from =
      deps.length > 0 && room > 4
        ? `  ${paint('cyan', '←')} ${truncate(deps.join(', '), room)}`
        : '';
    lines.push(`${bullet}${paint('bold', label)}${kind}${from}`);
  }
  const edges = view.stages.reduce((n, s) => n + s.dependsOn.length, 0);
  lines.push(
    paint(
      'dim',
      truncate(
        `${view.stages.length} stages in ${nodes.size} groups, ${edges} edges; levels on the left`,
        width,
      ),
    ),
  );
  return `${lines.join('\n')}\n`;
}

/** Longest path from a root; edges into unknown nodes are ignored (the engine has checked cycles). */
function levels(nodes: Map<string, Node>): Map<string, number> {
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (key: string): number => {
    const known = level.get(key);
    if (known !== undefined) return known;
    if (visiting.has(key)) return 0;
    visiting.add(key);
    let lv = 0;
    for (const dep of nodes.get(key)?.dependsOn ?? []) {
      if (nodes.has(dep)) lv = Math.max(lv, visit(dep) + 1);
    }
    visiting.delete(key);
    level.set(key, lv);
    return lv;
  };
  for (const key of nodes.keys()) visit(key);
  return level;
}
