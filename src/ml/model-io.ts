/**
 * Saves and loads models in the TensorFlow.js LayersModel format (a directory holding
 * model.json + weights.bin) without tfjs-node: an IOHandler over node:fs. What it writes
 * loads in Python (tensorflowjs) and in the browser (tf.loadLayersModel over HTTP).
 * Must never leave a half-written snapshot: files go to a temp directory that is renamed
 * into place only once complete.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function toBuffer(data: tf.io.WeightData | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return Buffer.from(tf.io.concatenateArrayBuffers(data));
}

/** Writes files into `dir` atomically: a sibling temp directory, then one rename. */
export function writeDirAtomically(dir: string, files: Record<string, Uint8Array | string>): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(tmp, name), content);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** An IOHandler that saves to / loads from `dir` (model.json + weights.bin). */
export function fileSystemIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('binary model topologies (graph models) are not supported');
      }
      const weights = toBuffer(artifacts.weightData);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig !== undefined)
        modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata !== undefined) {
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      }
      const json = JSON.stringify(modelJSON);
      writeDirAtomically(dir, { [WEIGHTS_BIN]: weights, [MODEL_JSON]: json });
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
          weightDataBytes: weights.length,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const path = join(dir, MODEL_JSON);
      if (!existsSync(path)) throw new Error(`${path} does not exist`);
      const modelJSON = JSON.parse(readFileSync(path, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const parts: Buffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) parts.push(readFileSync(join(dir, p)));
        }
        const all = Buffer.concat(parts);
        const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
        return [tf.io.getWeightSpecs(manifest), data as ArrayBuffer];
      });
    },
  };
}

/** Saves `model` as `dir`/model.json + `dir`/weights.bin (replacing what was there). */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(fileSystemIO(dir));
}

/** Loads a LayersModel saved by saveModel (or by tfjs / tensorflowjs converters). */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(fileSystemIO(dir));
}
