#!/usr/bin/python3
"""The networks of `llx bench` in PyTorch, timed the same way, for a side-by-side.

Run with Debian's python3-torch (not the pyenv python):

    /usr/bin/python3 tools/bench_pytorch.py --model resnet18 --attention llam --size 112 \\
        --batch 16 --steps 10 --warmup 2 --threads 2

On a GPU (tools/gpu_check.sh runs this with the GPU machine's python3):

    python3 tools/bench_pytorch.py --device cuda --torchvision --model resnet18 \\
        --attention llam --size 112 --batch 256 --steps 10 --warmup 3

The modules are imported from tests/fixtures/make_golden.py and
make_attention_golden.py, the PyTorch mirrors the golden tests check llx
against, so the architecture is identical:
  resnet18  experiments/resnet18.yaml: 7x7 stride-2 stem + max-pool, two blocks per stage, width 64
  narrow    experiments/narrow_resnet.yaml: 3x3 stride-1 stem, one block per stage, width 16
A training step is zero_grad + forward (train mode) + cross-entropy + backward
+ SGD (momentum 0.9, weight decay 5e-4); inference is a forward in eval mode
under no_grad. Each is the median over --steps after --warmup, on random
input and labels. Prints one CSV line:
    torch,<model>-<attention>,<size>,<batch>,<train img/s>,<infer img/s>,<peak MiB>

--device cuda: the data lives on the GPU, every timed step ends with
torch.cuda.synchronize() (as llx bench syncs its backend), cuDNN autotuning is on
(torch.backends.cudnn.benchmark; --no-cudnn-benchmark turns it off) and TF32 is
PyTorch's default (cuDNN convolutions in TF32, matmuls in full fp32; --no-tf32:
both fp32). The peak column is then torch.cuda.max_memory_allocated, not RSS.
--torchvision (resnet18 only): the network is torchvision.models.resnet18(num_classes=7)
itself, with the attention module set into every BasicBlock at the place of llx's
basic_block `attention:` hook (after bn2, before the residual add, called as
attn(cur, pre, shortcut)); its parameter names and shapes are checked against the
golden ResNet above.
--amp bf16|fp16: mixed precision as PyTorch users run it: forward and loss under
torch.autocast with that dtype (convolutions and matmuls in half, their outputs kept in
half between ops), fp16 with a GradScaler; --channels-last: the network and input in
channels-last memory format. llx's train.precision rounds only the convolutions'
operands and results and keeps F32 tensors between ops, so this is the speed
PyTorch's fuller mixed precision reaches, not the same arithmetic.
--profile N: after the timing, N more training steps under torch.profiler, and a table on
stderr of the device time per step of each aten op (self time: the kernels it launched
itself), the largest first, to set beside llx bench's time per op type.
"""
import argparse
import os
import resource
import statistics
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from make_attention_golden import factory  # noqa: E402
from make_golden import BasicBlock, ResNet  # noqa: E402

# llx's default options of each attention layer
ATTENTION = {"none": None, "se": "se", "cbam": "cbam_original", "eca": "eca_adaptive", "llam": "llam"}


class NarrowResNet(nn.Module):
    """experiments/narrow_resnet.yaml: conv3x3 s1 - bn - relu, one BasicBlock per stage."""

    def __init__(self, width=16, classes=7, attention=None):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        cin = w
        for s, (mult, stride) in enumerate([(1, 1), (2, 2), (4, 2), (8, 2)], 1):
            setattr(self, "layer%d" % s, nn.Sequential(BasicBlock(cin, w * mult, stride, attention)))
            cin = w * mult
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(model, attention):
    attn = factory(ATTENTION[attention]) if ATTENTION[attention] else None
    if model == "resnet18":
        return ResNet(width=64, stem="7", classes=7, attention=attn)
    return NarrowResNet(width=16, classes=7, attention=attn)


def build_torchvision(attention):
    """torchvision.models.resnet18(num_classes=7), attention in every BasicBlock."""
    import torchvision

    net = torchvision.models.resnet18(num_classes=7)
    make = factory(ATTENTION[attention]) if ATTENTION[attention] else None
    if make is not None:
        for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
            for block in stage:
                block.attn = make(block.bn2.num_features)
                # make_golden.BasicBlock's forward: the attention where basic_block has it; torchvision's
                # block has the same attribute names (conv1, bn1, relu, conv2, bn2, downsample).
                block.forward = types.MethodType(BasicBlock.forward, block)
    shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}  # noqa: E731
    got, want = shapes(net), shapes(build("resnet18", attention))
    if got != want:
        diff = sorted(set(got.items()) ^ set(want.items()))[:6]
        raise SystemExit("bench_pytorch: torchvision resnet18 differs from the golden ResNet: %s" % diff)
    return net


def timed(fn, warmup, steps, sync=lambda: None):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def profile_steps(step, n, cuda, sync):
    """Runs step n times under torch.profiler; prints each aten op's self device time per step."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts) as prof:
        for _ in range(n):
            step()
        sync()

    def self_us(e):  # the attribute is named by device in newer torch, CUDA in older
        if not cuda:
            return e.self_cpu_time_total
        for name in ("self_device_time_total", "self_cuda_time_total"):
            if hasattr(e, name):
                return getattr(e, name)
        return 0.0

    rows = sorted(((self_us(e) / n / 1000.0, e.count // n, e.key) for e in prof.key_averages()), reverse=True)
    total = sum(ms for ms, _, _ in rows)
    print("bench_pytorch: %s time per training step by aten op (self, %d profiled steps): %.2f ms"
          % ("device" if cuda else "CPU", n, total), file=sys.stderr)
    print("  %-44s %10s %9s %7s" % ("op", "calls/step", "ms", "share"), file=sys.stderr)
    for ms, calls, key in rows:
        if ms < 0.01 or ms < 0.002 * total:
            break
        print("  %-44s %10d %9.3f %6.1f%%" % (key[:44], calls, ms, 100.0 * ms / total), file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["resnet18", "narrow"], default="resnet18")
    p.add_argument("--attention", choices=sorted(ATTENTION), default="none")
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="0: torch's default")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--torchvision", action="store_true",
                   help="resnet18 from torchvision.models (attention set into its blocks)")
    p.add_argument("--no-tf32", action="store_true", help="cuda: fp32 convolutions and matmuls")
    p.add_argument("--no-cudnn-benchmark", action="store_true", help="cuda: no cuDNN autotuning")
    p.add_argument("--amp", choices=["bf16", "fp16"], help="autocast forward and loss (fp16: GradScaler)")
    p.add_argument("--channels-last", action="store_true", help="network and input channels-last")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="then N training steps under torch.profiler: device time per aten op")
    a = p.parse_args()
    if a.torchvision and a.model != "resnet18":
        p.error("--torchvision builds resnet18 only")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    sync = lambda: None  # noqa: E731
    if a.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("bench_pytorch: --device cuda, but torch %s sees no GPU" % torch.__version__)
        torch.backends.cudnn.benchmark = not a.no_cudnn_benchmark
        if a.no_tf32:
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        sync = torch.cuda.synchronize
        print("bench_pytorch: %s, torch %s, cuDNN %s, cudnn.benchmark %s, tf32 conv %s matmul %s"
              % (torch.cuda.get_device_name(), torch.__version__, torch.backends.cudnn.version(),
                 torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32,
                 torch.backends.cuda.matmul.allow_tf32), file=sys.stderr)
    if a.amp or a.channels_last:
        print("bench_pytorch: autocast %s, channels-last %s" % (a.amp or "off", a.channels_last), file=sys.stderr)
    torch.manual_seed(1)
    net = (build_torchvision(a.attention) if a.torchvision else build(a.model, a.attention)).to(dev)
    x = torch.rand(a.batch, 3, a.size, a.size, device=dev) * 2 - 1
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (a.batch,), device=dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.amp)
    scaler = None
    if a.amp == "fp16":  # torch.amp.GradScaler since torch 2.3; torch.cuda.amp's before
        scaler = torch.amp.GradScaler(a.device) if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()

    def autocast():
        return torch.autocast(a.device, dtype=amp_dtype, enabled=amp_dtype is not None)

    def train_step():
        opt.zero_grad()
        with autocast():
            loss = loss_fn(net(x), y)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    def infer():
        with torch.no_grad(), autocast():
            net(x)

    net.train()
    train_s = timed(train_step, a.warmup, a.steps, sync)
    if a.profile > 0:
        profile_steps(train_step, a.profile, a.device == "cuda", sync)
    net.eval()
    infer_s = timed(infer, a.warmup, a.steps, sync)
    if a.device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 1048576.0
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch,%s-%s,%d,%d,%.2f,%.2f,%.1f" % (a.model, a.attention, a.size, a.batch, a.batch / train_s,
                                               a.batch / infer_s, peak))


if __name__ == "__main__":
    main()
