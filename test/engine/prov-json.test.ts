/**
 * `why --prov-json` read back by the W3C reference implementation (the `prov` Python
 * package, Debian's python3-prov, installed by .ci/run): the lineage it sees must be the one
 * `why` prints. Skipped, saying so, only where no Python with `prov` exists.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LINEAGE_WORKSPACE, Rig } from './rig.js';

const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import prov.model'], { encoding: 'utf8' }).status === 0,
);
if (!python)
  console.warn('prov-json test skipped: no python3 with the prov package (python3-prov)');

/** What prov.model reads from a PROV-JSON file, as plain lists. */
const READ_BACK = `
import json, sys
from prov.model import ProvDocument, ProvEntity, ProvActivity, ProvUsage, ProvGeneration
from prov.constants import PROV_ATTR_ACTIVITY, PROV_ATTR_ENTITY
doc = ProvDocument.deserialize(sys.argv[1], format="json")
def attr(record, name):
    return sorted(str(v) for v in record.get_attribute(name))
def formal(record, key):
    return str(dict(record.formal_attributes)[key])
print(json.dumps({
    "entities": [str(e.identifier) for e in doc.get_records(ProvEntity)],
    "activities": [
        {"id": str(a.identifier), "label": attr(a, "prov:label"), "params": attr(a, "adv:params")}
        for a in doc.get_records(ProvActivity)],
    "used": [[formal(u, PROV_ATTR_ACTIVITY), formal(u, PROV_ATTR_ENTITY)]
             for u in doc.get_records(ProvUsage)],
    "generated": [[formal(g, PROV_ATTR_ENTITY), formal(g, PROV_ATTR_ACTIVITY)]
                  for g in doc.get_records(ProvGeneration)],
}))
`;

interface ReadBack {
  entities: string[];
  activities: { id: string; label: string[]; params: string[] }[];
  used: [string, string][];
  generated: [string, string][];
}

const rigs: Rig[] = [];
afterAll(() => {
  for (const r of rigs) r.cleanup();
});

describe('why --prov-json', () => {
  it.skipIf(!python)('is read by the W3C prov library with the lineage why prints', async () => {
    const r = new Rig();
    rigs.push(r);
    for (const [file, text] of Object.entries(LINEAGE_WORKSPACE)) r.write(file, text);
    const ran = await r.run(['run']);
    expect(ran.code, ran.stderr).toBe(0);
    const text = (await r.run(['why', 'artifacts/C/c.txt'])).stdout;
    const exported = await r.run(['why', '--prov-json', 'artifacts/C/c.txt']);
    expect(exported.code, exported.stderr).toBe(0);
    r.write('c.prov.json', exported.stdout);
    const read = spawnSync(python as string, ['-c', READ_BACK, r.path('c.prov.json')], {
      encoding: 'utf8',
    });
    expect(read.status, read.stderr).toBe(0);
    const doc = JSON.parse(read.stdout) as ReadBack;

    // why's text: "label digest  <- stage (kind, ...)" tells an execution, "(as above)"
    // refers back to one, "(workspace file)" is a source; "params {...}" follows each story.
    const lines = text.trimEnd().split('\n');
    const told = lines.flatMap((l) => /<- (\S+) \(\w+, /.exec(l)?.[1] ?? []);
    const made = lines.filter((l) => l.includes('  <- '));
    const sources = lines.filter((l) => l.endsWith('(workspace file)'));
    const digests = new Set(lines.flatMap((l) => /^\s*\S+ ([0-9a-f]{12}) /.exec(l)?.[1] ?? []));
    const params = lines.flatMap((l) => /^\s*params (.*)$/.exec(l)?.[1] ?? []);
    expect(told.sort()).toEqual(['A', 'B', 'C']);

    expect(doc.activities.map((a) => a.label[0]).sort()).toEqual(told);
    expect(doc.activities.flatMap((a) => a.params).sort()).toEqual(params.sort());
    expect(new Set(doc.entities.map((e) => e.replace('adv:sha256-', '').slice(0, 12)))).toEqual(
      digests,
    );
    // Every "<-" line is a generation; every line under a story but the first is a usage.
    expect(doc.generated).toHaveLength(made.length);
    expect(doc.used).toHaveLength(made.length + sources.length - 1);
    const activityIds = new Set(doc.activities.map((a) => a.id));
    const entityIds = new Set(doc.entities);
    for (const [activity, entity] of doc.used) {
      expect(activityIds.has(activity)).toBe(true);
      expect(entityIds.has(entity)).toBe(true);
    }
    const byLabel = new Map(doc.activities.map((a) => [a.id, a.label[0]]));
    const cMade = doc.generated.filter(([, activity]) => byLabel.get(activity) === 'C');
    expect(cMade).toHaveLength(1);
    expect(fs.existsSync(r.path('artifacts/C/c.txt'))).toBe(true);
  });
});
