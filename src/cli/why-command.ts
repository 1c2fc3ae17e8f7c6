/**
 * `advrob-dag why <path|digest>`: the chain of executions that made an artifact, back to
 * the workspace files it came from, with each step's params; or the same as W3C PROV-JSON.
 * Read-only: provenance.db and the store, no lock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dag/diagnostics.js';
import { type ExecutionRow, Provenance } from '../dag/provenance.js';
import { workspacePaths } from '../dag/run.js';
import { StatCache } from '../dag/stat-cache.js';
import { Store, subtreeDigest } from '../dag/store.js';

const short = (digest: string): string => digest.slice(0, 12);
const usage = (message: string): UserError => new UserError([{ severity: 'error', message }]);

interface Target {
  digest: string;
  label: string;
  /** The execution that made it, when the target names a stage output. */
  execution?: ExecutionRow;
}

function resolveTarget(target: string, root: string, store: Store, prov: Provenance): Target {
  if (/^[0-9a-f]{64}$/.test(target)) {
    return { digest: target, label: target, execution: prov.producerOf(target) };
  }
  if (/^[0-9a-f]{8,63}$/.test(target) && !fs.existsSync(target)) {
    const matches = prov.digestsWithPrefix(target, 2);
    const [digest] = matches;
    if (matches.length > 1 || digest === undefined)
      throw usage(
        `${target}: ${matches.length > 1 ? 'more than one recorded digest starts' : 'no recorded digest starts'} with it`,
      );
    return { digest, label: digest, execution: prov.producerOf(digest) };
  }
  const abs = path.resolve(target);
  const rel = path.relative(root, abs).split(path.sep).join('/');
  const [top, dirName, ...rest] = rel.split('/');
  if (top === 'artifacts' && dirName) {
    const stageId = decodeURIComponent(dirName);
    const key = store.readHead(stageId);
    const record = key ? store.readRecord(key) : undefined;
    if (!key || !record) throw usage(`${target}: stage '${stageId}' has no output in the store`);
    const digest = subtreeDigest(store.readTree(record.outputTree), rest.join('/'));
    if (!digest) throw usage(`${target}: not in the output of stage '${stageId}'`);
    return { digest, label: rel, execution: prov.executionOfKey(key) };
  }
  if (fs.existsSync(abs)) {
    const digest = new StatCache(workspacePaths(root).statCache).pathDigest(abs);
    if (digest) return { digest, label: rel, execution: prov.producerOf(digest) };
  }
  throw usage(`${target}: neither a sha256 digest nor a file under artifacts/ or the workspace`);
}

/**
 * W3C PROV-JSON: every attribute value is a literal (a string, number or boolean), so params
 * and facts go in as their JSON text; a missing value is left out rather than null.
 */
interface ProvDoc {
  prefix: Record<string, string>;
  entity: Record<string, Record<string, string>>;
  activity: Record<string, Record<string, string>>;
  used: Record<string, Record<string, string>>;
  wasGeneratedBy: Record<string, Record<string, string>>;
}

export function why(target: string, root: string, opts: { provJson: boolean }): string {
  const paths = workspacePaths(root);
  if (!fs.existsSync(paths.provenance)) throw usage('no runs recorded in this workspace yet');
  const store = new Store(paths.cache);
  const prov = new Provenance(paths.provenance);
  try {
    const start = resolveTarget(target, root, store, prov);
    const lines: string[] = [];
    const doc: ProvDoc = {
      prefix: { adv: 'urn:advrob-dag:' },
      entity: {},
      activity: {},
      used: {},
      wasGeneratedBy: {},
    };
    const text = !opts.provJson;
    const entity = (digest: string, label: string): string => {
      const id = `adv:sha256-${digest}`;
      if (!text) doc.entity[id] ??= { 'prov:label': label, 'adv:digest': digest };
      return id;
    };
    // Shared upstreams are asked for once (a 10,000-stage lineage names each many times).
    const producers = new Map<string, ExecutionRow | undefined>();
    const producer = (key: string): ExecutionRow | undefined => {
      if (!producers.has(key)) producers.set(key, prov.executionOfKey(key));
      return producers.get(key);
    };
    let generations = 0;
    let usages = 0;
    const seen = new Set<number>();
    const visit = (exec: ExecutionRow, digest: string, label: string, depth: number): void => {
      const pad = '  '.repeat(depth);
      const activity = `adv:execution-${exec.id}`;
      const out = entity(digest, label);
      if (!text)
        doc.wasGeneratedBy[`_:g${generations++}`] = {
          'prov:entity': out,
          'prov:activity': activity,
        };
      const made = `${pad}${label} ${short(digest)}  <- ${exec.stage_id}`;
      // A DAG printed as a tree repeats shared ancestors: print each execution's story once.
      if (seen.has(exec.id)) {
        if (text) lines.push(`${made} (as above)`);
        return;
      }
      seen.add(exec.id);
      if (text) {
        lines.push(
          `${made} (${exec.kind}, ${exec.status} ${new Date(exec.started_at).toISOString()}, key ${short(exec.key ?? '')})`,
        );
        lines.push(`${pad}  params ${exec.params}`);
        if (exec.facts !== '{}') lines.push(`${pad}  facts ${exec.facts}`);
      } else
        doc.activity[activity] = {
          'prov:label': exec.stage_id,
          'prov:startTime': new Date(exec.started_at).toISOString(),
          'prov:endTime': new Date(exec.ended_at).toISOString(),
          'adv:kind': exec.kind,
          ...(exec.key !== null ? { 'adv:key': exec.key } : {}),
          'adv:params': exec.params,
          'adv:facts': exec.facts,
        };
      for (const input of prov.inputsOf(exec.id)) {
        if (!text)
          doc.used[`_:u${usages++}`] = {
            'prov:activity': activity,
            'prov:entity': entity(input.digest, input.label),
          };
        const upstream = input.source_key ? producer(input.source_key) : undefined;
        if (upstream) visit(upstream, input.digest, input.label, depth + 1);
        else if (text)
          lines.push(
            `${pad}  ${input.label} ${short(input.digest)}  (${input.source_stage ? 'no recorded execution' : 'workspace file'})`,
          );
      }
    };
    if (start.execution) visit(start.execution, start.digest, start.label, 0);
    else {
      entity(start.digest, start.label);
      lines.push(`${start.label} ${short(start.digest)}  (source: not made by any recorded stage)`);
    }
    return text ? `${lines.join('\n')}\n` : `${JSON.stringify(doc, null, 2)}\n`;
  } finally {
    prov.close();
  }
}
