/**
 * `advrob-dag dag`: the pipeline's stages and edges as Graphviz DOT, Mermaid, or the ui
 * helper's terminal text. Pure apart from printing; reads neither cache nor store.
 */
import type { DagView } from '../dag/events.js';
import type { Pipeline } from '../dag/pipeline-types.js';
import { renderDag } from '../ui/dag.js';
import { stdoutColor, stdoutWidth } from './output.js';

export type DagFormat = 'text' | 'dot' | 'mermaid';

export function dagView(pipeline: Pipeline): DagView {
  return {
    stages: pipeline.stages.map((s) => ({
      id: s.id,
      name: s.name,
      kind: s.kind,
      dependsOn: [...new Set(s.inputs.flatMap((i) => i.refs.map((r) => r.stageId)))],
    })),
  };
}

const quote = (s: string): string => JSON.stringify(s);

export function toDot(view: DagView): string {
  const lines = ['digraph pipeline {', '  rankdir=LR;', '  node [shape=box];'];
  for (const s of view.stages)
    lines.push(`  ${quote(s.id)} [label=${quote(`${s.id}\n${s.kind}`)}];`);
  for (const s of view.stages)
    for (const d of s.dependsOn) lines.push(`  ${quote(d)} -> ${quote(s.id)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function toMermaid(view: DagView): string {
  const node = new Map(view.stages.map((s, i) => [s.id, `s${i}`]));
  const label = (s: string): string => s.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const s of view.stages)
    lines.push(`  ${node.get(s.id)}["${label(s.id)}<br/>${label(s.kind)}"]`);
  for (const s of view.stages)
    for (const d of s.dependsOn) lines.push(`  ${node.get(d)} --> ${node.get(s.id)}`);
  return `${lines.join('\n')}\n`;
}

export function formatDag(pipeline: Pipeline, format: DagFormat, expand: boolean): string {
  const view = dagView(pipeline);
  if (format === 'dot') return toDot(view);
  if (format === 'mermaid') return toMermaid(view);
  return renderDag(view, { color: stdoutColor(), width: stdoutWidth(), expand });
}
