/**
 * `artifacts/<stage-id>/…`: the human-readable view of each stage's current output, made of
 * read-only hard links into the object store (copies across filesystems), rebuilt from a
 * stage record's tree. A view is built beside its final place and renamed in, so readers
 * (and dependent stages) never see half a view. It never writes into cache/objects.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { idFileName, type Store, type TreeManifest, writeFileAtomic } from './store.js';

export class ArtifactsView {
  private readonly markers: string;

  constructor(
    readonly root: string,
    private readonly store: Store,
  ) {
    this.markers = path.join(store.cacheDir, 'views');
  }

  /** Removes half-built views a killed run left behind (call only under the run lock). */
  sweep(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.root);
    } catch {
      return;
    }
    for (const name of names)
      if (name.startsWith('.building-'))
        fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
  }

  dir(stageId: string): string {
    return path.join(this.root, idFileName(stageId));
  }

  /** Makes `artifacts/<id>` show `treeDigest`; a no-op when it already does. */
  show(stageId: string, treeDigest: string, manifest?: TreeManifest): void {
    const marker = path.join(this.markers, idFileName(stageId));
    const final = this.dir(stageId);
    try {
      if (fs.readFileSync(marker, 'utf8') === treeDigest && fs.existsSync(final)) return;
    } catch {
      // no marker: build it
    }
    const tree = manifest ?? this.store.readTree(treeDigest);
    fs.mkdirSync(this.root, { recursive: true });
    const staging = fs.mkdtempSync(path.join(this.root, `.building-${idFileName(stageId)}-`));
    for (const entry of tree.entries) {
      const target = path.join(staging, entry.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const object = this.store.objectPath(entry.digest);
      if (entry.mode === 0o755) {
        fs.copyFileSync(object, target);
        fs.chmodSync(target, 0o555);
        continue;
      }
      try {
        fs.linkSync(object, target);
      } catch {
        fs.copyFileSync(object, target);
        fs.chmodSync(target, 0o444);
      }
    }
    const old = `${staging}.old`;
    let moved = false;
    try {
      fs.renameSync(final, old);
      moved = true;
    } catch {
      // nothing there yet
    }
    fs.renameSync(staging, final);
    if (moved) fs.rmSync(old, { recursive: true, force: true });
    writeFileAtomic(marker, treeDigest, { durable: false });
  }
}
