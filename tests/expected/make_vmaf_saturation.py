"""Writes vmaf_saturation.json: BD-rates of three VMAF cases as computed before the
saturation rule (issue 18, item 4). Command, from a checkout of main at e889f54:

    PYTHONPATH=/work/main python tests/expected/make_vmaf_saturation.py \
        > tests/expected/vmaf_saturation.json
"""

import json
import math

import pandas as pd

from vqabench.evaluation.aggregate import per_sequence_bd_rate

CASES = {  # sequence -> (anchor VMAF, test VMAF) at rates 1000, 2000, 4000... (test 0.8x)
    "normal": ([70.0, 82.0, 91.0, 96.0], [71.0, 83.0, 91.5, 96.5]),
    "saturated": ([99.0, 99.4, 99.6, 99.8], [99.1, 99.5, 99.7, 99.8]),
    "top_flat": ([70.0, 80.0, 90.0, 96.0, 99.6], [71.0, 81.0, 91.0, 99.6, 99.6]),
}


def results() -> pd.DataFrame:
    rows = []
    for seq, (qa, qt) in CASES.items():
        for codec, qs, f in (("a", qa, 1.0), ("b", qt, 0.8)):
            for i, q in enumerate(qs):
                rows.append(
                    {
                        "sequence": seq,
                        "reference": "source",
                        "codec": codec,
                        "rate_point": f"qp={i}",
                        "kbps": 1000.0 * 2**i * f,
                        "metric": "vmaf",
                        "value": q,
                        "anchor": "source",
                    }
                )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    per = per_sequence_bd_rate(results(), anchor_codec="a")
    print(
        json.dumps(
            {r.sequence: None if math.isnan(r.bd_rate) else r.bd_rate for r in per.itertuples()},
            indent=1,
            sort_keys=True,
        )
    )
