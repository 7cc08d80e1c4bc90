"""Export the trained levels of ``train_small.py`` into the package (float16 conv weights).

Before export, the entropy bottleneck's quantiles (the range its CDF tables cover) are fitted
to its learned density by ``--aux-steps`` steps of its auxiliary loss alone (no data: the
loss depends on the bottleneck's own parameters only), so that few hyper-latents fall
outside the tables (they are still coded, at a higher cost, by the range coder's bypass).

    python experiments/learned_codec/export_small.py /tmp/vqabench_small \
        vqabench/models/weights/vqabench_small --aux-steps 3000
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: CDF tables that ``net.update(force=True)`` rebuilds from the other weights (as the codec
#: does at load): stored empty, they would be 0.8 MB per level.
_TABLES = ("_quantized_cdf", "_offset", "_cdf_length")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "run", type=Path, help="folder searched (with subfolders) for q{quality}_full.pt"
    )
    ap.add_argument("out", type=Path)
    ap.add_argument("--aux-steps", type=int, default=3000)
    args = ap.parse_args()

    import torch
    from compressai.models import ScaleHyperprior

    torch.manual_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    for full in sorted(args.run.rglob("q*_full.pt")):
        net = ScaleHyperprior.from_state_dict(torch.load(full, weights_only=True))
        aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
        opt = torch.optim.Adam(aux, lr=1e-2)
        before = net.aux_loss().item()
        for _ in range(args.aux_steps):
            loss = net.aux_loss()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        net.update(force=True)
        state = {
            k: (
                v.half()
                if v.is_floating_point() and v.dim() == 4
                else v[:0].clone()
                if k.rsplit(".", 1)[-1] in _TABLES
                else v
            )
            for k, v in net.state_dict().items()
        }
        dst = args.out / full.name.replace("_full", "")
        tmp = dst.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(dst)
        print(
            f"{dst}: aux loss {before:.2f} -> {net.aux_loss().item():.4f}, "
            f"{dst.stat().st_size} bytes"
        )


if __name__ == "__main__":
    main()
