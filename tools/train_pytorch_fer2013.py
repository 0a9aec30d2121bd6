#!/usr/bin/python3
"""experiments/fer2013_narrow.yaml in PyTorch, for a side-by-side with `llx run`.

The same network (NarrowResNet of tools/bench_pytorch.py, itself built from the modules
the golden tests check llx against), the same data (FER2013 image folders: train on
Training, select on PublicTest, report PrivateTest at the best epoch), the same recipe
(SGD momentum 0.9, weight decay 5e-4, lr 0.05 with a half-epoch linear warm-up from
0.005 and a per-step cosine, batch 64, random crop with 4 pixels of zero padding and
horizontal flip, grey input normalised with mean 0.5 and std 0.5).

Needs Debian's python3-torch and python3-pil; run with /usr/bin/python3:

    /usr/bin/python3 tools/train_pytorch_fer2013.py /path/to/fer2013 --epochs 5 --threads 2
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pytorch import NarrowResNet  # noqa: E402

CLASSES = ["neutral", "angry", "disgust", "fear", "happy", "sad", "surprise"]  # llx's canonical order


def load(root, split, prefix):
    xs, ys = [], []
    for label, folder in enumerate(CLASSES):
        d = os.path.join(root, split, folder)
        for name in sorted(os.listdir(d)):
            if name.startswith(prefix):
                xs.append(np.asarray(Image.open(os.path.join(d, name)).convert("L"), dtype=np.uint8))
                ys.append(label)
    x = torch.from_numpy(np.stack(xs)).float().div(255).sub(0.5).div(0.5).unsqueeze(1)
    return x, torch.tensor(ys)


def augment(x, gen):
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    out = torch.empty_like(x)
    offsets = torch.randint(0, 9, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    for i in range(n):
        oy, ox = offsets[i].tolist()
        crop = padded[i, :, oy:oy + 48, ox:ox + 48]
        out[i] = crop.flip(-1) if flips[i] else crop
    return out


def evaluate(model, x, y, batch=256):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train_x, train_y = load(a.root, "train", "Training_")
    val_x, val_y = load(a.root, "test", "PublicTest_")
    test_x, test_y = load(a.root, "test", "PrivateTest_")
    model = NarrowResNet(width=16, classes=7)
    model.conv1 = torch.nn.Conv2d(1, 16, 3, 1, 1, bias=False)  # grey input, as channels: 1 in llx
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    batch, steps = 64, math.ceil(len(train_y) / 64)
    gen = torch.Generator().manual_seed(a.seed)
    best_val, best_state = -1, None
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=gen)
        start, seen, loss_sum = time.time(), 0, 0.0
        for i in range(steps):
            t = epoch + i / steps
            lr = 0.05 * 0.5 * (1 + math.cos(math.pi * t / a.epochs))
            if t < 0.5:
                lr = 0.005 + (lr - 0.005) * t / 0.5
            for g in opt.param_groups:
                g["lr"] = lr
            idx = order[i * batch:(i + 1) * batch]
            loss = F.cross_entropy(model(augment(train_x[idx], gen)), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
        train_s = time.time() - start
        val = evaluate(model, val_x, val_y)
        print("torch epoch %d/%d  train loss %.4f  val acc %.4f  %.0fs  %.0f img/s" %
              (epoch + 1, a.epochs, loss_sum / seen, val, time.time() - start, seen / train_s), flush=True)
        if val > best_val:
            best_val, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    print("torch best val (PublicTest) %.4f  test (PrivateTest) %.4f" % (best_val, evaluate(model, test_x, test_y)))


if __name__ == "__main__":
    main()
