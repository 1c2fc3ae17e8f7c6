/**
 * Adam, SGD (with optional momentum) and RMSprop with Keras' update rules and defaults,
 * written out here rather than taken from tf.train because resuming must be exact: tf.train's
 * Adam recomputes beta^t with pow() on restore while it multiplies step by step during
 * training, so a resumed run drifts by an ulp. Here every step-dependent factor is computed
 * in float64 from the step count, and the whole state (step + slot tensors) is exported.
 * Must never keep state outside `step` and the slot tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedAdamUpdate } from './kernels/adam-update.js';

export type OptimizerName = 'adam' | 'sgd' | 'rmsprop';

export interface OptimizerConfig {
  name: OptimizerName;
  learningRate: number;
  /** Adam: default 0.9. */
  beta1?: number;
  /** Adam: default 0.999. */
  beta2?: number;
  /** Adam, RMSprop: default 1e-7 (Keras). */
  epsilon?: number;
  /** SGD: default 0 (plain gradient descent). */
  momentum?: number;
  /** RMSprop: default 0.9. */
  rho?: number;
}

/** Everything needed to continue optimising exactly where it stopped. */
export interface OptimizerState {
  step: number;
  /** Slot tensors named `<variable>/<slot>`, e.g. 'conv1/kernel/m'. Owned by the caller. */
  slots: { name: string; tensor: tf.Tensor }[];
}

export interface Optimizer {
  readonly config: Required<OptimizerConfig>;
  /** Number of updates applied so far. */
  readonly step: number;
  /** Applies one update: `grads[i]` is the gradient of the loss w.r.t. `vars[i]`. */
  apply(vars: readonly tf.Variable[], grads: readonly tf.Tensor[], names: readonly string[]): void;
  /** Copies of the state (dispose the tensors when done). */
  getState(): OptimizerState;
  /** Replaces the state with `state` (the caller still owns and disposes its tensors). */
  setState(state: OptimizerState): void;
  dispose(): void;
}

const SLOTS: Record<OptimizerName, readonly string[]> = {
  adam: ['m', 'v'],
  sgd: ['velocity'],
  rmsprop: ['ms'],
};

export function withDefaults(c: OptimizerConfig): Required<OptimizerConfig> {
  if (!(c.learningRate > 0)) throw new Error(`learning rate must be > 0; got ${c.learningRate}`);
  return {
    name: c.name,
    learningRate: c.learningRate,
    beta1: c.beta1 ?? 0.9,
    beta2: c.beta2 ?? 0.999,
    epsilon: c.epsilon ?? 1e-7,
    momentum: c.momentum ?? 0,
    rho: c.rho ?? 0.9,
  };
}

export function createOptimizer(config: OptimizerConfig): Optimizer {
  const cfg = withDefaults(config);
  const slotNames = cfg.name === 'sgd' && cfg.momentum === 0 ? [] : SLOTS[cfg.name];
  /** variable name -> slot name -> tensor */
  let slots = new Map<string, Map<string, tf.Variable>>();
  let step = 0;

  function slotsFor(name: string, like: tf.Tensor): Map<string, tf.Variable> {
    let s = slots.get(name);
    if (s === undefined) {
      s = new Map(slotNames.map((n) => [n, tf.variable(tf.zerosLike(like), false)]));
      slots.set(name, s);
    }
    return s;
  }

  function update(v: tf.Variable, g: tf.Tensor, s: Map<string, tf.Variable>, t: number): void {
    const lr = cfg.learningRate;
    switch (cfg.name) {
      case 'adam': {
        const m = s.get('m') as tf.Variable;
        const vv = s.get('v') as tf.Variable;
        // Keras: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), in float64 here.
        const lrT = (lr * Math.sqrt(1 - cfg.beta2 ** t)) / (1 - cfg.beta1 ** t);
        // On wasm one fused kernel, bitwise the same as the ops below.
        const { beta1, beta2, epsilon } = cfg;
        const fused = fusedAdamUpdate(v, m, vv, g, { beta1, beta2, lrT, epsilon });
        if (fused !== undefined) {
          v.assign(fused[0]);
          m.assign(fused[1]);
          vv.assign(fused[2]);
          return;
        }
        m.assign(tf.add(tf.mul(m, cfg.beta1), tf.mul(g, 1 - cfg.beta1)));
        vv.assign(tf.add(tf.mul(vv, cfg.beta2), tf.mul(tf.square(g), 1 - cfg.beta2)));
        v.assign(tf.sub(v, tf.div(tf.mul(m, lrT), tf.add(tf.sqrt(vv), cfg.epsilon))));
        return;
      }
      case 'sgd': {
        if (cfg.momentum === 0) {
          v.assign(tf.sub(v, tf.mul(g, lr)));
          return;
        }
        const vel = s.get('velocity') as tf.Variable;
        vel.assign(tf.sub(tf.mul(vel, cfg.momentum), tf.mul(g, lr)));
        v.assign(tf.add(v, vel));
        return;
      }
      case 'rmsprop': {
        const ms = s.get('ms') as tf.Variable;
        ms.assign(tf.add(tf.mul(ms, cfg.rho), tf.mul(tf.square(g), 1 - cfg.rho)));
        v.assign(tf.sub(v, tf.div(tf.mul(g, lr), tf.add(tf.sqrt(ms), cfg.epsilon))));
        return;
      }
    }
  }

  return {
    config: cfg,
    get step() {
      return step;
    },
    apply(vars, grads, names) {
      if (vars.length !== grads.length || vars.length !== names.length) {
        throw new Error('apply: vars, grads and names must have the same length');
      }
      const t = step + 1;
      tf.tidy(() => {
        vars.forEach((v, i) => {
          update(v, grads[i] as tf.Tensor, slotsFor(names[i] as string, v), t);
        });
      });
      step = t;
    },
    getState() {
      const out: { name: string; tensor: tf.Tensor }[] = [];
      for (const [name, s] of slots) {
        for (const [slot, tensor] of s)
          out.push({ name: `${name}/${slot}`, tensor: tensor.clone() });
      }
      return { step, slots: out };
    },
    setState(state) {
      const parsed = state.slots.map(({ name, tensor }) => {
        const cut = name.lastIndexOf('/');
        const slot = name.slice(cut + 1);
        if (!slotNames.includes(slot)) {
          throw new Error(`optimizer state has slot '${slot}'; ${cfg.name} uses ${slotNames}`);
        }
        return { varName: name.slice(0, cut), slot, tensor };
      });
      this.dispose();
      for (const { varName, slot, tensor } of parsed) {
        let s = slots.get(varName);
        if (s === undefined) {
          s = new Map();
          slots.set(varName, s);
        }
        s.set(slot, tf.variable(tensor, false));
      }
      step = state.step;
    },
    dispose() {
      for (const s of slots.values()) for (const t of s.values()) t.dispose();
      slots = new Map();
    },
  };
}
