/**
 * MaxPoolGrad for webgpu with the cpu backend's (and TensorFlow's) tie rule: each dy value
 * goes to the FIRST maximum of its window in row-major order. The backend's own kernel
 * gives it to the last one (its positions shader compares with >=), so after a ReLU,
 * where windows of equal zeros are common, the input gradient lands on other pixels than
 * on cpu and wasm. One shader: every input pixel sums dy over the windows that contain it
 * and whose first maximum it is (ceil(f/s)^2 windows of f^2 reads each).
 * Must never be registered for a backend other than webgpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { maxPoolGradInfo } from './pool-info.js';
import type { KernelArgs } from './wasm-ops.js';

/** What tfjs-backend-webgpu's runWebGPUProgram reads of a program (its WebGPUProgram). */
interface Program {
  variableNames: string[];
  uniforms: string;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

interface WebgpuBackend {
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms: { type: 'int32'; data: number[] }[],
  ): tf.TensorInfo;
}

const WORKGROUP = 64;

// Windows of output row oR cover input rows oR*s - pad .. oR*s - pad + f - 1. Out-of-bounds
// positions (padding) are never a maximum, as in the cpu backend.
const SHADER = `
fn main(index : i32) {
  if (index < uniforms.size) {
    let coords = getCoordsFromIndex(index);
    let b = coords[0];
    let r = coords[1];
    let c = coords[2];
    let d = coords[3];
    let s = uniforms.strides;
    let f = uniforms.filterDims;
    let p = uniforms.pads;
    let loR = r + p.x - f.x + 1;
    let loC = c + p.y - f.y + 1;
    let firstR = select((loR + s.x - 1) / s.x, 0, loR <= 0);
    let firstC = select((loC + s.y - 1) / s.y, 0, loC <= 0);
    let lastR = min(uniforms.dyShape[1] - 1, (r + p.x) / s.x);
    let lastC = min(uniforms.dyShape[2] - 1, (c + p.y) / s.y);
    var sum = 0.0;
    for (var oR = firstR; oR <= lastR; oR++) {
      for (var oC = firstC; oC <= lastC; oC++) {
        var best = 0.0;
        var bestR = -1;
        var bestC = -1;
        for (var wR = 0; wR < f.x; wR++) {
          let xR = oR * s.x - p.x + wR;
          if (xR < 0 || xR >= uniforms.xShape[1]) {
            continue;
          }
          for (var wC = 0; wC < f.y; wC++) {
            let xC = oC * s.y - p.y + wC;
            if (xC < 0 || xC >= uniforms.xShape[2]) {
              continue;
            }
            let v = getX(b, xR, xC, d);
            if (bestR < 0 || v > best) {
              best = v;
              bestR = xR;
              bestC = xC;
            }
          }
        }
        if (bestR == r && bestC == c) {
          sum += getDy(b, oR, oC, d);
        }
      }
    }
    setOutputAtIndex(index, sum);
  }
}
`;

function program(inShape: number[]): Program {
  const size = inShape.reduce((a, v) => a * v, 1);
  return {
    variableNames: ['dy', 'x'],
    uniforms: 'strides : vec2<i32>, pads : vec2<i32>, filterDims : vec2<i32>,',
    outputShape: inShape,
    shaderKey: 'advrobMaxPoolGradFirstMax',
    dispatchLayout: { x: inShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => SHADER,
  };
}

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WebgpuBackend;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = maxPoolGradInfo(input, args.attrs);
  return backend.runWebGPUProgram(program(info.inShape), [dy, input], 'float32', [
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.filterHeight, info.filterWidth] },
  ]);
}

export const webgpuMaxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'webgpu',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
