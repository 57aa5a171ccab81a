"""The training-loop pieces every CNN recipe shares (models/pneumonia-cxr, models/nih-cxr-abnormal,
models/cxr-pneumonia-adult), whatever its network: seeding, AdamW with a one-cycle schedule and
an EMA copy of the weights, one weighted BCE step, one epoch over a seeded permutation, the EMA
copy's BatchNorm refresh, class-balanced weights and validation loss, choosing the checkpoint on
validation, and Platt scaling.

Debian python3 with python3-torch; imported by each recipe after it puts models/tools on sys.path.
Each recipe keeps its network, data, augmentation, what it logs per epoch and how it calibrates.

Every function draws from the random generators in the order the recipes always did, so a re-run
of a recipe gives the weights it gave before these were shared.
"""
from __future__ import annotations

import argparse
import math
import random
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def optimisers(model: nn.Module, a: argparse.Namespace, n_train: int, pct_start: float):
    """AdamW with a one-cycle schedule over a.epochs, and an EMA copy of the weights (decay a.ema)."""
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    steps_per_epoch = math.ceil(n_train / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=a.lr, total_steps=a.epochs * steps_per_epoch, pct_start=pct_start)
    ema = torch.optim.swa_utils.AveragedModel(
        model, avg_fn=lambda avg, cur, n: a.ema * avg + (1 - a.ema) * cur)
    return opt, sched, ema


def train_step(model, opt, sched, ema, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> float:
    """One weighted BCE step on normalised images; updates the EMA copy. Returns the batch loss."""
    z = model(x)
    loss = F.binary_cross_entropy_with_logits(z, y, weight=weight)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    ema.update_parameters(model)
    return float(loss)


Batch = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def train_epoch(model, opt, sched, ema, n: int, g: torch.Generator, batch: int, inputs: Batch,
                min_batch: int = 1) -> float:
    """One epoch over a permutation (drawn from g) of the n training images, in batches of `batch`.

    inputs(idx) -> (normalised images, targets, loss weights) of the images idx; it draws its
    augmentation from g after the permutation, as the recipes always did. A batch smaller than
    min_batch is skipped (BatchNorm needs 2). Returns the summed batch loss x batch size, over n.
    """
    model.train()
    perm = torch.randperm(n, generator=g)
    run = 0.0
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        if len(idx) < min_batch:
            continue
        run += train_step(model, opt, sched, ema, *inputs(idx)) * len(idx)
    return run / n


def refresh_ema_bn(ema, xtr: torch.Tensor, mean: float, std: float, batch: int, transform=None) -> None:
    """BatchNorm running stats of the EMA copy: recompute on un-augmented train images
    (through `transform`, e.g. a masking, when the recipe trains on transformed images)."""
    torch.optim.swa_utils.update_bn(
        [((xtr[i:i + batch] if transform is None else transform(xtr[i:i + batch])) - mean) / std
         for i in range(0, len(xtr), batch)], ema)


def class_balanced_weights(y) -> tuple[float, float]:
    """(w_pos, w_neg): loss weights under which each class contributes half of the total."""
    n_pos = float(y.sum())
    return len(y) / (2 * n_pos), len(y) / (2 * (len(y) - n_pos))


def weighted_logloss(z: np.ndarray, y: np.ndarray, w_pos: float, w_neg: float) -> float:
    """Class-weighted mean BCE of logits z (the validation loss of a class-balanced recipe)."""
    wv = np.where(y == 1, w_pos, w_neg)
    return float(np.sum(wv * (np.logaddexp(0, z) - y * z)) / np.sum(wv))


class BestCheckpoint:
    """The weights of the epoch with the best validation score, AUROC - 1e-3 x validation loss (so
    the loss only breaks AUROC ties), counting epochs from min_epoch on (after warm-up)."""

    def __init__(self, min_epoch: int):
        self.min_epoch = min_epoch
        self.score = -math.inf
        self.state: dict | None = None

    def offer(self, epoch: int, auc: float, vloss: float, model: nn.Module) -> bool:
        """Keep a copy of model's weights if epoch (1-based) is the best so far; True if it is."""
        score = auc - 1e-3 * vloss
        if epoch >= self.min_epoch and score > self.score:
            self.score, self.state = score, {k: v.clone() for k, v in model.state_dict().items()}
            return True
        return False


def fit_platt(z: np.ndarray, y: np.ndarray, reduce=np.mean) -> tuple[float, float]:
    """(a, b) minimising the NLL of sigmoid(a z + b) on validation logits z: Newton's method, up to
    100 steps, stopping when no step exceeds 1e-10. Refuses a <= 0 (an inverted ranking).

    reduce (np.mean or np.sum) is how gradient and Hessian are aggregated: the optimum is the same,
    but the iterates differ in the last bits, so each recipe keeps the one its shipped constants
    came from (nih-cxr-abnormal np.mean, cxr-pneumonia-adult np.sum).
    """
    a, b = 1.0, 0.0
    for _ in range(100):
        s = a * z + b
        p = 1 / (1 + np.exp(-s))
        r = p - y
        grad = np.array([reduce(r * z), reduce(r)])
        w = p * (1 - p)
        hess = np.array([[reduce(w * z * z), reduce(w * z)], [reduce(w * z), reduce(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if a <= 0:
        raise RuntimeError(f"Platt slope {a} <= 0: the validation ranking is inverted")
    return float(a), float(b)
