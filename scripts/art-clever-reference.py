#!/usr/bin/python3
"""
Dev aid, not a dependency: IBM ART 1.20.1's CLEVER (art/metrics/metrics.py clever_u and
clever_t, art/utils.py random_sphere) ported line for line onto a PyTorch copy of one of the
pipeline's tfjs LayersModel snapshots (LeNet, softmax output, clip values [0, 1]), to compare
advrob-dag's CLEVER with ART's on the same weights and images. ART itself is not installable
here; this port keeps its numpy RNG calls, float32 pool, gradients of the model output,
weibull_min.fit(-maxima, c_init, optimizer=scipy.optimize.fmin) and the final
min(-value / loc, radius).

Needs Debian's python3-torch, python3-scipy (run with /usr/bin/python3):

  scripts/art-clever-reference.py SNAPSHOT_DIR TEST_IMAGES.npy [--examples 20] [--seeds 0,1,2]
      [--nb-batches 10] [--batch-size 10] [--radius 0.3] [--pool-factor 10] [--c-init 1]

Prints JSON: per seed, the per-image scores and their mean. With --fit FILE.json (a list of
{"data": [...], "c_init": c}), prints scipy's fit of each data set instead (fixture recording).
"""
import argparse
import json
import os
import sys
from functools import reduce

import numpy as np
import torch
from scipy.optimize import fmin as scipy_optimizer
from scipy.stats import weibull_min


class LeNet(torch.nn.Module):
    """The tfjs LeNet with its NHWC layout: weights transposed once, flatten in HWC order."""

    def __init__(self, weights):
        super().__init__()
        self.w = weights

    def forward(self, x):
        w = self.w
        h = x.permute(0, 3, 1, 2)
        h = torch.relu(torch.nn.functional.conv2d(h, w["conv1/kernel"], w["conv1/bias"]))
        h = torch.nn.functional.max_pool2d(h, 2)
        h = torch.relu(torch.nn.functional.conv2d(h, w["conv2/kernel"], w["conv2/bias"]))
        h = torch.nn.functional.max_pool2d(h, 2)
        h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
        h = torch.relu(h @ w["fc1/kernel"] + w["fc1/bias"])
        h = torch.relu(h @ w["fc2/kernel"] + w["fc2/bias"])
        return torch.softmax(h @ w["logits/kernel"] + w["logits/bias"], dim=1)


def load_snapshot(directory):
    with open(os.path.join(directory, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    weights = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(directory, p), "rb").read() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            a = np.frombuffer(blob, dtype=np.float32, count=count, offset=offset).reshape(spec["shape"])
            offset += 4 * count
            if a.ndim == 4:  # [kh, kw, in, out] -> [out, in, kh, kw]
                a = a.transpose(3, 2, 0, 1)
            weights[spec["name"]] = torch.tensor(np.ascontiguousarray(a))
    return LeNet(weights).eval()


class Classifier:
    """The parts of ART's PyTorchClassifier that clever_t uses."""

    clip_values = (0.0, 1.0)
    nb_classes = 10

    def __init__(self, model):
        self.model = model

    def predict(self, x):
        with torch.no_grad():
            return self.model(torch.tensor(x, dtype=torch.float32)).numpy()

    def class_gradient(self, x, label):
        xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
        out = self.model(xt)
        out[:, label].sum().backward()
        return xt.grad.numpy()[:, None]


def random_sphere(nb_points, nb_dims, radius, norm):
    if norm in [np.inf, "inf"]:
        return np.random.uniform(-radius, radius, (nb_points, nb_dims))
    raise NotImplementedError("only the pipeline's norm (inf) is ported")


def clever_t(classifier, x, target_class, nb_batches, batch_size, radius, norm, c_init, pool_factor):
    y_pred = classifier.predict(np.array([x]))
    pred_class = np.argmax(y_pred, axis=1)[0]
    rand_pool_grad_set = []
    grad_norm_set = []
    dim = reduce(lambda x_, y: x_ * y, x.shape, 1)
    shape = [pool_factor * batch_size]
    shape.extend(x.shape)
    rand_pool = np.reshape(
        random_sphere(nb_points=pool_factor * batch_size, nb_dims=dim, radius=radius, norm=norm), shape
    )
    rand_pool += np.repeat(np.array([x]), pool_factor * batch_size, 0)
    rand_pool = rand_pool.astype(np.float32)
    np.clip(rand_pool, classifier.clip_values[0], classifier.clip_values[1], out=rand_pool)
    norm = 1  # dual of inf
    for i in range(batch_size):
        batch = rand_pool[i * pool_factor : (i + 1) * pool_factor]
        grad = classifier.class_gradient(batch, label=pred_class) - classifier.class_gradient(
            batch, label=target_class
        )
        grad = np.linalg.norm(np.reshape(grad, (pool_factor, -1)), ord=norm, axis=1)
        rand_pool_grad_set.extend(grad)
    rand_pool_grads = np.array(rand_pool_grad_set)
    for _ in range(nb_batches):
        grad_norm = rand_pool_grads[np.random.choice(pool_factor * batch_size, batch_size)]
        grad_norm_set.append(np.max(grad_norm))
    [_, loc, _] = weibull_min.fit(-np.array(grad_norm_set), c_init, optimizer=scipy_optimizer)
    values = classifier.predict(np.array([x]))
    value = values[:, pred_class] - values[:, target_class]
    return float(np.min([-value[0] / loc, radius]))


def clever_u(classifier, x, nb_batches, batch_size, radius, norm, c_init, pool_factor):
    y_pred = classifier.predict(np.array([x]))
    pred_class = np.argmax(y_pred, axis=1)[0]
    targets = [i for i in range(classifier.nb_classes) if i != pred_class]
    scores = [
        clever_t(classifier, x, j, nb_batches, batch_size, radius, norm, c_init, pool_factor) for j in targets
    ]
    return float(np.min(scores))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("snapshot", nargs="?")
    ap.add_argument("images", nargs="?")
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--nb-batches", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--radius", type=float, default=0.3)
    ap.add_argument("--pool-factor", type=int, default=10)
    ap.add_argument("--c-init", type=float, default=1.0)
    ap.add_argument("--fit")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.fit:
        with open(a.fit) as f:
            sets = json.load(f)
        out = []
        for s in sets:
            data = np.array(s["data"], dtype=np.float32)
            c, loc, scale = weibull_min.fit(data, s["c_init"], optimizer=scipy_optimizer)
            out.append({**s, "scipy": {"c": float(c), "loc": float(loc), "scale": float(scale)}})
        json.dump(out, sys.stdout, indent=1)
        return
    classifier = Classifier(load_snapshot(a.snapshot))
    x = np.load(a.images)[: a.examples]
    result = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        np.random.seed(seed)
        scores = [
            clever_u(classifier, xi, a.nb_batches, a.batch_size, a.radius, np.inf, a.c_init, a.pool_factor)
            for xi in x
        ]
        result.append({"seed": seed, "scores": scores, "mean": float(np.mean(scores))})
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
