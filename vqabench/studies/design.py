"""Study design from run directories: conditions, trials, per-participant order, media.

``create_study`` writes ``STUDY/study.json`` (the spec: everything needed to reproduce the
study) and ``STUDY/media/*.webm``. Designs:

- ``2afc``: per sequence, the source on top and two decoded videos below; each test codec's
  rate point against the anchor codec's point nearest in rate (``pairs="anchor"``) or every
  codec against every other one (``pairs="all"``), plus (``ladder=True``) adjacent rate points
  of each codec, so that all conditions of a sequence are connected for scaling.
  Answers: left, right or neutral.
- ``acr``: every decoded video alone, rated 1-5 (ITU-T P.910 ACR); the source is shown as a
  hidden reference (ACR-HR) so that DMOS can be computed.
- ``dcr``: the source, then the decoded video, impairment rated 1-5 (P.910 DCR).

Every design adds repeated trials (the same trial again; sides re-drawn) and attention trials
(an obviously degraded video, :func:`vqabench.studies.media.attention_webm`), and one training
trial shown first and never analysed. The order of trials and the sides are drawn per
participant from ``(seed, participant id)`` (:func:`participant_plan`). With
``sampling="active"`` (2AFC) the test trials are candidates: the next one is chosen per
participant by expected information gain (:mod:`vqabench.studies.sampling`), by the web
app and by ``vqabench study simulate``.

Videos are shown at native size (ITU-T P.910, ITU-R BT.500): one video pixel on one device
pixel, so a ``W``-pixel-wide video is ``W / devicePixelRatio`` CSS px wide and never scaled by
the browser. The presentation is chosen at design time and recorded
(:func:`choose_presentation`): 2AFC videos side by side only when both fit the stated screen,
otherwise one at a time in one place (``toggle``: the participant flips between reference and
the two versions; ``sequential``: they play one after the other); ACR and DCR show one video
at a time (``sequential``). The participants' page refuses a window that cannot hold the
presentation at native size (:func:`viewport_needed`).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from vqabench.errors import ConfigError, DatasetError, invalid
from vqabench.io.atomic import atomic_write_text
from vqabench.io.hashing import file_sha256
from vqabench.studies.runs import refuse_or_note, run_mismatch, run_record

__all__ = [
    "DESIGNS",
    "PAIRS",
    "SPEC_NAME",
    "Design",
    "pick_pairs",
    "build_trials",
    "participant_plan",
    "participant_seed",
    "create_study",
    "load_spec",
    "collect_conditions",
    "PRESENTATIONS",
    "DEFAULT_SCREEN",
    "BAR_CSS_PX",
    "GAP_CSS_PX",
    "parse_screen",
    "viewport_needed",
    "choose_presentation",
    "min_view_ms",
    "read_consent",
    "check_scores_run",
]

Design = Literal["2afc", "acr", "dcr"]
DESIGNS: tuple[str, ...] = ("2afc", "acr", "dcr")
PAIRS: tuple[str, ...] = ("anchor", "all")
SPEC_NAME = "study.json"
SPEC_VERSION = 1
_KEYS = ("sequence", "reference", "codec", "rate_point")
#: ``auto`` and the presentations of 2AFC; ACR and DCR are always ``sequential``.
PRESENTATIONS: tuple[str, ...] = ("auto", "side-by-side", "toggle", "sequential")
#: The participants' viewport a study is designed for, in CSS px at devicePixelRatio 1.
DEFAULT_SCREEN = "1920x1080"
#: Height of the control bar above the videos and gap between side-by-side videos (CSS px;
#: templates/base.html and trial.html use the same numbers).
BAR_CSS_PX = 48
GAP_CSS_PX = 16
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def collect_conditions(results: Sequence[dict], run_index: int) -> list[dict]:
    """One condition per (sequence, reference, codec, rate point) of a run's results rows.

    Args:
        results: rows of results.csv as dicts (any metric; rate columns are per encode).
        run_index: index of the run in the study's list of runs.

    Returns:
        Condition dicts with the tidy keys, ``bits``, ``bpp``, ``kbps``, ``enc_s``,
        ``dec_s``, ``bitstream``, ``group``, ``coded_pix_fmt``, ``native_rate_point`` (empty
        when the run predates them) and ``run``, sorted by keys.
    """
    seen: dict[tuple[str, ...], dict] = {}
    for row in results:
        key = tuple(str(row[k]) for k in _KEYS)
        if key not in seen:
            seen[key] = {
                **dict(zip(_KEYS, key, strict=True)),
                "bits": int(row["bits"]),
                "bpp": float(row["bpp"]),
                "kbps": float(row["kbps"]),
                "enc_s": float(row["enc_s"]),
                "dec_s": float(row["dec_s"]),
                "bitstream": str(row["bitstream"]),
                "group": str(row.get("group") or ""),
                "coded_pix_fmt": str(row.get("coded_pix_fmt") or ""),
                "native_rate_point": str(row.get("native_rate_point") or ""),
                "run": run_index,
            }
    return [seen[k] for k in sorted(seen)]


def _nearest(point: dict, others: list[dict]) -> dict:
    """The condition of ``others`` nearest to ``point`` in log rate (ties: lower rate)."""
    return min(others, key=lambda o: (abs(math.log(o["kbps"] / point["kbps"])), o["kbps"]))


def pick_pairs(
    conditions: Sequence[dict], *, anchor: str, pairs: str = "anchor", ladder: bool = True
) -> list[tuple[str, str]]:
    """2AFC pairs of condition ids within each (sequence, reference).

    Args:
        conditions: condition dicts with ``id``, tidy keys and ``kbps``.
        anchor: the anchor codec (``pairs="anchor"``: every other codec is paired with it).
        pairs: ``"anchor"`` or ``"all"`` (every pair of codecs, both directions of nearest).
        ladder: also pair adjacent rate points of each codec.

    Returns:
        ``(a, b)`` id pairs, unique as unordered pairs, in a stable order.

    Raises:
        ConfigError: unknown ``pairs``, or ``anchor`` is not a codec of the conditions.
    """
    if pairs not in PAIRS:
        raise invalid("pairs", pairs, " | ".join(PAIRS))
    names = sorted({c["codec"] for c in conditions})
    if pairs == "anchor" and anchor not in names:
        raise invalid("anchor", anchor, f"a codec of the runs ({', '.join(names)})")
    out: list[tuple[str, str]] = []
    seen: set[frozenset[str]] = set()

    def add(a: dict, b: dict) -> None:
        key = frozenset((a["id"], b["id"]))
        if a["id"] != b["id"] and key not in seen:
            seen.add(key)
            out.append((a["id"], b["id"]))

    groups: dict[tuple[str, str], list[dict]] = {}
    for c in conditions:
        groups.setdefault((c["sequence"], c["reference"]), []).append(c)
    for _, conds in sorted(groups.items()):
        by_codec: dict[str, list[dict]] = {}
        for c in sorted(conds, key=lambda c: c["kbps"]):
            by_codec.setdefault(c["codec"], []).append(c)
        names = sorted(by_codec)
        combos = (
            [(t, anchor) for t in names if t != anchor and anchor in by_codec]
            if pairs == "anchor"
            else [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
        )
        for test, other in combos:
            for point in by_codec[test]:
                add(point, _nearest(point, by_codec[other]))
            if pairs == "all":
                for point in by_codec[other]:
                    add(_nearest(point, by_codec[test]), point)
        if ladder:
            for codec in sorted(by_codec):
                points = by_codec[codec]
                for lo, hi in zip(points, points[1:], strict=False):
                    add(hi, lo)
    return out


def build_trials(
    design: str,
    conditions: Sequence[dict],
    sources: dict[str, str],
    attentions: dict[str, str],
    *,
    pairs: Sequence[tuple[str, str]] = (),
    repeats: int,
    attention: int,
    rng: np.random.Generator,
    prefix: str,
) -> list[dict]:
    """The trials of a study (training first, then test, repeat and attention trials).

    Args:
        design: ``2afc``, ``acr`` or ``dcr``.
        conditions: condition dicts (``id``, ``sequence``, ``kbps``...).
        sources: sequence -> id of its hidden-reference media.
        attentions: sequence -> id of its attention (degraded) media.
        pairs: 2AFC pairs of condition ids.
        repeats: number of repeated test trials.
        attention: number of attention trials.
        rng: random generator (choice of repeats and of the training sequence).
        prefix: prefix of trial ids (the study id), so that ids never collide across studies.

    Returns:
        Trial dicts: ``id``, ``kind`` (training | test | repeat | attention), ``sequence``,
        ``reference`` (media id shown as reference, or None), and ``a``/``b`` (2AFC) or
        ``condition`` (ACR/DCR); repeats carry ``repeat_of``.
    """
    cond = {c["id"]: c for c in conditions}
    tests: list[dict] = []
    if design == "2afc":
        tests = [
            {
                "sequence": cond[a]["sequence"],
                "reference": sources[cond[a]["sequence"]],
                "a": a,
                "b": b,
            }
            for a, b in pairs
        ]
    else:
        items = [*conditions, *({"id": src, "sequence": seq} for seq, src in sources.items())]
        tests = [
            {
                "sequence": c["sequence"],
                "reference": sources[c["sequence"]] if design == "dcr" else None,
                "condition": c["id"],
            }
            for c in items
        ]
    if not tests:
        raise ConfigError(
            "the runs give no trials for this design (2afc needs at least two "
            "codecs, or two rate points of one codec, per sequence)"
        )
    trials = [{"kind": "test", **t} for t in tests]
    for i in sorted(rng.choice(len(tests), size=min(repeats, len(tests)), replace=False)):
        trials.append({"kind": "repeat", "repeat_of": int(i), **tests[int(i)]})
    seqs = sorted(sources)
    for i in range(attention):
        seq = seqs[i % len(seqs)]
        if design == "2afc":
            trials.append(
                {
                    "kind": "attention",
                    "sequence": seq,
                    "reference": sources[seq],
                    "a": sources[seq],
                    "b": attentions[seq],
                }
            )
        else:
            trials.append(
                {
                    "kind": "attention",
                    "sequence": seq,
                    "reference": sources[seq] if design == "dcr" else None,
                    "condition": attentions[seq],
                }
            )
    training = dict(tests[int(rng.integers(len(tests)))], kind="training")
    trials.insert(0, training)
    for n, t in enumerate(trials):
        t["id"] = f"{prefix}-t{n}"
    for t in trials:
        if "repeat_of" in t:
            t["repeat_of"] = trials[t["repeat_of"] + 1]["id"]
    return trials


def participant_seed(seed: int, participant: str) -> list[int]:
    """Seed entropy of one participant's random draws: the study seed and a hash of the id."""
    return [seed, int(hashlib.sha256(participant.encode()).hexdigest()[:12], 16)]


def _repeat_next_to_original(order: list[str], pair_of: dict[str, str]) -> bool:
    """True when a repeated trial and its original are adjacent in ``order``."""
    return any(pair_of.get(x) == y for x, y in zip(order, order[1:], strict=False))


def participant_plan(spec: dict, participant: str) -> list[tuple[str, bool]]:
    """Trial order and sides of one participant: ``[(trial id, swapped), ...]``.

    The training trial comes first; the others are shuffled so that a repeated trial never
    comes right after (or right before) its original: orders where it does are drawn again
    (up to 1000 draws; only a study whose only trials are a test and its repeat cannot avoid
    it). ``swapped`` (2AFC) puts trial ``b`` on the left. Deterministic in
    ``(spec["seed"], participant)``.
    """
    rng = np.random.default_rng(participant_seed(int(spec["seed"]), participant))
    trials = spec["trials"]
    pair_of = {}
    for t in trials:
        if t.get("repeat_of"):
            pair_of[t["id"]], pair_of[t["repeat_of"]] = t["repeat_of"], t["id"]
    head = [t["id"] for t in trials if t["kind"] == "training"]
    rest = [t["id"] for t in trials if t["kind"] != "training"]
    for _ in range(1000):
        order = head + [rest[i] for i in rng.permutation(len(rest))]
        if not _repeat_next_to_original(order, pair_of):
            break
    swaps = rng.random(len(order)) < 0.5
    two_sided = spec["design"] == "2afc"
    return [(tid, bool(s) and two_sided) for tid, s in zip(order, swaps, strict=True)]


def min_view_ms(spec: dict, trial: dict) -> int:
    """The shortest time (ms) a participant can take to see ``trial`` before answering.

    ``spec["min_view_s"]`` when set; otherwise the trial's playing time: the videos'
    duration (frames / fps) times the number played one after another (2AFC sequential:
    reference and two versions; DCR: reference and processed video; otherwise one, since
    side-by-side and toggle videos play together and the answer buttons wait for their end).

    Example:
        >>> spec = {"design": "dcr", "presentation": "sequential", "min_view_s": None,
        ...         "sequences": {"S": {"frames": 50, "fps": "25"}}}
        >>> min_view_ms(spec, {"sequence": "S"})
        4000
    """
    fixed = spec.get("min_view_s")
    if fixed is not None:
        return round(float(fixed) * 1000)
    seq = spec["sequences"][trial["sequence"]]
    played = (
        3
        if spec["design"] == "2afc" and spec["presentation"] == "sequential"
        else 2
        if spec["design"] == "dcr"
        else 1
    )
    return math.floor(played * seq["frames"] * 1000 / Fraction(str(seq["fps"])))


def parse_screen(screen: str) -> tuple[int, int]:
    """``"1920x1080"`` -> ``(1920, 1080)``.

    Raises:
        ConfigError: not two positive integers joined by ``x``.
    """
    parts = str(screen).lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise invalid("screen", screen, "WIDTHxHEIGHT in pixels, e.g. 1920x1080")
    return int(parts[0]), int(parts[1])


def viewport_needed(
    presentation: str, width: int, height: int, dpr: float = 1.0
) -> tuple[float, float]:
    """Smallest viewport (CSS px) that shows a trial's videos at native size with its controls.

    Native size is one video pixel per device pixel: a video is ``width / dpr`` CSS px wide.
    ``side-by-side`` needs two videos and a gap across, the others one video; both it and
    ``toggle`` need the control bar (:data:`BAR_CSS_PX`) above the videos, since the
    participant uses it while they play. ``sequential`` plays the videos, then asks: its
    bar may cover the stopped video, so it needs the video only.

    Example:
        >>> viewport_needed("side-by-side", 640, 360)
        (1296.0, 408.0)
        >>> viewport_needed("sequential", 1920, 1080, dpr=1.5)
        (1280.0, 720.0)
    """
    columns = 2 if presentation == "side-by-side" else 1
    bar = 0 if presentation == "sequential" else BAR_CSS_PX
    return (columns * width / dpr + (columns - 1) * GAP_CSS_PX, height / dpr + bar)


def choose_presentation(
    design: str, presentation: str, sizes: Sequence[tuple[int, int]], screen: tuple[int, int]
) -> str:
    """The presentation of a study whose videos have ``sizes``, for a ``screen`` (CSS px, dpr 1).

    ``auto``: 2AFC ``side-by-side`` when two of the largest videos and the controls fit the
    screen, else ``toggle`` (the participant flips between the videos in one place, which
    shows small differences better than recalling a video played before) when one video and
    the controls fit, else ``sequential``; ACR and DCR are always ``sequential``.

    Raises:
        ConfigError: unknown presentation, one the design does not have, or a screen that
            cannot show the videos at native size in the presentation.
    """
    if presentation not in PRESENTATIONS:
        raise invalid("presentation", presentation, " | ".join(PRESENTATIONS))
    if design != "2afc" and presentation not in ("auto", "sequential"):
        raise invalid("presentation", presentation, f"auto | sequential for design {design}")
    width, height = max(w for w, _ in sizes), max(h for _, h in sizes)

    def fits(p: str) -> bool:
        need_w, need_h = viewport_needed(p, width, height)
        return need_w <= screen[0] and need_h <= screen[1]

    chosen = presentation
    if presentation == "auto":
        chosen = (
            next((p for p in ("side-by-side", "toggle") if fits(p)), "sequential")
            if design == "2afc"
            else "sequential"
        )
    if not fits(chosen):
        need_w, need_h = viewport_needed(chosen, width, height)
        raise invalid(
            "screen",
            f"{screen[0]}x{screen[1]}",
            f"at least {need_w:.0f}x{need_h:.0f} to show {width}x{height} videos at "
            f"native size {chosen} (state the participants' screen with --screen"
            + (
                ", or choose a presentation of one video at a time)"
                if chosen != "sequential"
                else ")"
            ),
        )
    return chosen


def _read_run(run_dir: Path):
    """(results rows, RunConfig) of a run directory."""
    import csv

    from vqabench.experiment import load_config

    results, config = run_dir / "results.csv", run_dir / "config.toml"
    for path in (results, config):
        if not path.is_file():
            raise DatasetError(
                f"run directory {str(run_dir)!r} lacks {path.name}; expected a "
                "directory written by `vqabench run`"
            )
    with open(results, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows, load_config(config)


def _prepare_media(
    media_dir: Path,
    conditions: list[dict],
    runs: list[dict],
    codec_specs: dict,
    sources_video: dict,
    sources: dict[str, str],
    attentions: dict[str, str],
) -> list[dict]:
    """Write every study video under ``media_dir``; returns the media items of the spec.

    File names are opaque (a keyed hash of the media id under a key that is not kept), so
    that neither a file nor its URL says whether it is a condition, the hidden reference
    or an attention video; ``items`` maps ids to files.
    """
    from vqabench.studies import media

    media_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(16)  # not kept: the names map to ids only through study.json

    def opaque(media_id: str) -> Path:
        return media_dir / (hmac.new(key, media_id.encode(), "sha256").hexdigest()[:20] + ".webm")

    items = []
    for c in conditions:
        path = opaque(c["id"])
        bitstream = Path(runs[c["run"]]["path"]) / c["bitstream"]
        media.decode_to_webm(
            bitstream, codec_specs[c["run"]][c["codec"]], sources_video[c["sequence"]], path
        )
        items.append(
            {
                "id": c["id"],
                "kind": "condition",
                "file": f"media/{path.name}",
                "sha256": file_sha256(path),
            }
        )
    for seq, sid in sources.items():
        video = sources_video[seq]
        src, att = opaque(sid), opaque(attentions[seq])
        media.to_webm(video.path, src)
        media.attention_webm(video, att)
        for mid, path, kind in ((sid, src, "source"), (attentions[seq], att, "attention")):
            items.append(
                {
                    "id": mid,
                    "kind": kind,
                    "sequence": seq,
                    "file": f"media/{path.name}",
                    "sha256": file_sha256(path),
                }
            )
    return items


def create_study(
    run_dirs: Sequence[str | Path],
    *,
    design: str,
    out: str | Path,
    seed: int = 0,
    anchor: str | None = None,
    pairs: str = "anchor",
    ladder: bool = True,
    repeat_fraction: float = 0.1,
    attention: int = 2,
    title: str = "Video quality study",
    presentation: str = "auto",
    screen: str = DEFAULT_SCREEN,
    sampling: str = "fixed",
    consent: str | Path | None = None,
    completion_code: str | None = None,
    min_view_s: float | None = None,
) -> dict:
    """Design a study from run directories and prepare its media.

    Args:
        run_dirs: directories written by ``vqabench run`` (bitstreams/ and results.csv kept).
        design: ``2afc``, ``acr`` or ``dcr``.
        out: the study directory (created; must not hold a study already).
        seed: seed of every random choice (repeats, training trial, participants' orders).
        anchor: 2AFC anchor codec; default the run's ``[run] anchor`` or its first codec.
        pairs: 2AFC pairing, ``anchor`` or ``all`` (see :func:`pick_pairs`).
        ladder: 2AFC: also compare adjacent rate points of each codec.
        repeat_fraction: share of test trials shown twice (at least one).
        attention: number of attention trials.
        title: shown on the participants' pages.
        presentation: ``auto``, ``side-by-side``, ``toggle`` or ``sequential`` (see
            :func:`choose_presentation`).
        screen: the participants' viewport ``WIDTHxHEIGHT`` in CSS px at devicePixelRatio
            1 that the presentation must fit.
        sampling: 2AFC: ``fixed`` (every participant answers every trial in a random order)
            or ``active`` (the next test trial by expected information gain,
            :mod:`vqabench.studies.sampling`).
        consent: a UTF-8 text file shown (paragraphs split at blank lines) on the start
            page; a participant registers only by agreeing (see :func:`read_consent`).
        completion_code: shown on the end page once every trial is answered (the Prolific /
            MTurk pattern); ``"generate"`` draws one.
        min_view_s: the shortest time from serving a trial to its answer that analysis
            accepts; None: the trial's playing time (:func:`min_view_ms`).

    Returns:
        The spec (also written to ``out/study.json``).

    Raises:
        ConfigError: bad option, or ``out`` already holds a study.
        DatasetError: a run directory is incomplete or two runs share a condition.
    """
    from vqabench.datasets import content_hash
    from vqabench.datasets import load as load_dataset
    from vqabench.io.ffmpeg import ffmpeg_info
    from vqabench.studies import media
    from vqabench.studies.sampling import SAMPLINGS

    if design not in DESIGNS:
        raise invalid("design", design, " | ".join(DESIGNS))
    if sampling not in SAMPLINGS or (sampling == "active" and design != "2afc"):
        raise invalid("sampling", sampling, " | ".join(SAMPLINGS) + " (active: 2afc only)")
    if not 0 <= repeat_fraction <= 1:
        raise invalid("repeat_fraction", repeat_fraction, "a fraction in [0, 1]")
    if int(attention) != attention or attention < 0:
        raise invalid("attention", attention, "an integer >= 0")
    if not run_dirs:
        raise invalid("run_dirs", list(run_dirs), "at least one run directory")
    screen_px = parse_screen(screen)
    consent_record = read_consent(consent) if consent is not None else None
    if completion_code == "generate":
        completion_code = secrets.token_hex(4).upper()
    if completion_code is not None and not _CODE.match(str(completion_code)):
        raise invalid(
            "completion_code", completion_code, "1-64 letters, digits, '-' or '_', or 'generate'"
        )
    if min_view_s is not None and not 0 <= float(min_view_s) < 3600:
        raise invalid(
            "min_view_s", min_view_s, "seconds in [0, 3600), or None for the trial's playing time"
        )
    if presentation not in PRESENTATIONS:
        raise invalid("presentation", presentation, " | ".join(PRESENTATIONS))
    out = Path(out).absolute()
    if (out / SPEC_NAME).exists():
        raise invalid("out", str(out), "a directory without a study (study.json exists)")
    conditions, runs, sources_video, codec_specs = [], [], {}, {}
    first_cfg = None
    for i, rd in enumerate(Path(r).absolute() for r in run_dirs):
        rows, cfg = _read_run(rd)
        first_cfg = first_cfg or cfg
        runs.append(run_record(rd, cfg))
        conditions += collect_conditions(rows, i)
        codec_specs[i] = {c.display: c for c in cfg.codecs}
        seqs = load_dataset(
            cfg.dataset,
            frames=cfg.frames,
            size=cfg.size,
            work_dir=rd,
            root=Path(cfg.root).absolute() if cfg.root else None,
            sequences=cfg.sequences,
            fps=cfg.fps,
            interlaced=cfg.interlaced,
        )
        for s in seqs:
            known = sources_video.setdefault(s.name, s.source)
            if known is not s.source and content_hash(known.path) != content_hash(s.source.path):
                raise DatasetError(
                    f"sequence {s.name!r} has different sources in the runs "
                    f"({known.path}, {s.source.path}); a study compares "
                    "videos of one source"
                )
    keys = [tuple(c[k] for k in _KEYS) for c in conditions]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise DatasetError(
            f"condition {dup} is in more than one run; give each run's codecs "
            "distinct labels (codec option label=...)"
        )
    for n, c in enumerate(conditions):
        c["id"] = f"c{n}"
    used = sorted({c["sequence"] for c in conditions})
    missing = [s for s in used if s not in sources_video]
    if missing:
        raise DatasetError(f"sources of sequence(s) {', '.join(missing)} cannot be loaded")
    shown = choose_presentation(
        design,
        presentation,
        [(sources_video[s].width, sources_video[s].height) for s in used],
        screen_px,
    )
    study_id = secrets.token_hex(4)
    rng = np.random.default_rng(seed)
    sources = {s: f"s{k}" for k, s in enumerate(used)}
    attentions = {s: f"a{k}" for k, s in enumerate(used)}
    if anchor is None and design == "2afc":
        anchor = first_cfg.anchor or next(iter(codec_specs[0]))
    pair_list = (
        pick_pairs(conditions, anchor=str(anchor), pairs=pairs, ladder=ladder)
        if design == "2afc"
        else []
    )
    n_tests = len(pair_list) if design == "2afc" else len(conditions) + len(sources)
    repeats = max(1, round(repeat_fraction * n_tests)) if repeat_fraction > 0 else 0
    trials = build_trials(
        design,
        conditions,
        sources,
        attentions,
        pairs=pair_list,
        repeats=repeats,
        attention=int(attention),
        rng=rng,
        prefix=study_id,
    )

    items = _prepare_media(
        out / "media", conditions, runs, codec_specs, sources_video, sources, attentions
    )
    videos = {
        seq: {
            "width": v.width,
            "height": v.height,
            "fps": str(v.fps),
            "frames": v.frames,
            "pix_fmt": v.pix_fmt,
            "path": str(v.path),
            "exact": v.pix_fmt == media.MEDIA_PIX_FMT,
        }
        for seq, v in sources_video.items()
        if seq in used
    }
    from vqabench import __version__

    spec = {
        "version": SPEC_VERSION,
        "study_id": study_id,
        "title": title,
        "design": design,
        "seed": seed,
        "anchor": anchor,
        "pairs": pairs if design == "2afc" else None,
        "ladder": ladder if design == "2afc" else None,
        "sampling": sampling,
        "repeat_fraction": repeat_fraction,
        "attention": int(attention),
        "consent": consent_record,
        "completion_code": completion_code,
        "min_view_s": None if min_view_s is None else float(min_view_s),
        "presentation": shown,
        "display": _display_record(presentation, screen_px, shown, list(videos.values())),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "vqabench": __version__,
        "runs": runs,
        "media": {
            "ffmpeg": ffmpeg_info().version,
            "args": list(media.MEDIA_ARGS),
            "attention_factor": media.ATTENTION_FACTOR,
            "note": "decoded from the run's bitstreams with the run's codec, converted to "
            "lossless VP9 (8-bit 4:2:0) in WebM; exact where the source is "
            "yuv420p",
            "items": items,
        },
        "sequences": videos,
        "conditions": conditions,
        "trials": trials,
        "command": [
            "vqabench",
            "study",
            "create",
            *(r["path"] for r in runs),
            "--design",
            design,
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--repeats",
            str(repeat_fraction),
            "--attention",
            str(attention),
            "--title",
            title,
            "--presentation",
            presentation,
            "--screen",
            f"{screen_px[0]}x{screen_px[1]}",
            *(["--consent", consent_record["file"]] if consent_record else []),
            *(["--completion-code", completion_code] if completion_code else []),
            *(["--min-view-s", str(min_view_s)] if min_view_s is not None else []),
            *(
                [
                    "--anchor",
                    str(anchor),
                    "--pairs",
                    pairs,
                    "--ladder" if ladder else "--no-ladder",
                    "--sampling",
                    sampling,
                ]
                if design == "2afc"
                else []
            ),
        ],
    }
    atomic_write_text(out / SPEC_NAME, json.dumps(spec, indent=1) + "\n")
    return spec


def _display_record(
    requested: str, screen: tuple[int, int], shown: str, videos: list[dict]
) -> dict:
    """How the videos are shown, for study.json."""
    width, height = max(v["width"] for v in videos), max(v["height"] for v in videos)
    need_w, need_h = viewport_needed(shown, width, height)
    return {
        "requested": requested,
        "screen": f"{screen[0]}x{screen[1]}",
        "viewport_needed": [need_w, need_h],
        "bar_css_px": BAR_CSS_PX,
        "gap_css_px": GAP_CSS_PX,
        "note": "native size: 1 video pixel per device pixel (CSS size = size / "
        "devicePixelRatio); viewport_needed is in CSS px at devicePixelRatio 1; "
        "the start page refuses a smaller viewport (scaled by 1/devicePixelRatio "
        "for the videos)",
    }


def read_consent(path: str | Path) -> dict:
    """The consent text of a study: ``{"file", "text", "sha256"}`` (the hash is recorded
    with every participant who agreed).

    Raises:
        ConfigError: not a readable, non-empty UTF-8 text file of at most 64 KiB.
    """
    path = Path(path).absolute()
    try:
        data = path.read_bytes()
        text = data.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise invalid("consent", str(path), f"a readable UTF-8 text file ({exc})") from None
    if not text or len(data) > 65536:
        raise invalid("consent", str(path), "a non-empty text file of at most 64 KiB")
    return {"file": str(path), "text": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}


def load_spec(study_dir: str | Path) -> dict:
    """Read ``STUDY/study.json``.

    Raises:
        DatasetError: no study there, or a spec this version cannot read.
    """
    path = Path(study_dir) / SPEC_NAME
    if not path.is_file():
        raise DatasetError(
            f"study={str(study_dir)!r} has no {SPEC_NAME}; create one with "
            "`vqabench study create RUN_DIR --design 2afc --out STUDY`"
        )
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("version") != SPEC_VERSION:
        raise DatasetError(
            f"{str(path)!r} has spec version {spec.get('version')!r}; this "
            f"vqabench reads version {SPEC_VERSION}"
        )
    if "presentation" not in spec:  # designed before presentations were recorded: auto
        sizes = [(v["width"], v["height"]) for v in spec["sequences"].values()]
        try:
            spec["presentation"] = choose_presentation(
                spec["design"], "auto", sizes, parse_screen(DEFAULT_SCREEN)
            )
        except ConfigError:  # too large for the default screen: the check refuses or not
            spec["presentation"] = "sequential"
    return spec


def check_scores_run(scores_path: Path, run_dir: Path, *, force: bool) -> list[str]:
    """Check that a study's ``scores.csv`` may be joined to the run in ``run_dir``.

    The study is found from the layout ``STUDY/analysis/scores.csv``. The run matches when it
    matches (:func:`vqabench.studies.runs.run_mismatch`) any run of the study; its mismatch
    is told against the study's run of the same directory, else against the study's first
    run.

    Returns:
        Notes for the output: a forced mismatch, or why nothing could be checked.

    Raises:
        ConfigError: the run is not one of the study's runs and ``force`` is False.
    """
    study = Path(scores_path).absolute().parent.parent
    if not (study / SPEC_NAME).is_file():
        return [
            f"not checked that {str(scores_path)!r} scores this run: it is not in a "
            f"study's analysis folder (no {SPEC_NAME} two levels up)"
        ]
    spec = load_spec(study)
    records = spec.get("runs", [])
    problems = [run_mismatch(r, run_dir) for r in records]
    if not records or "" in problems:
        return []
    same = [
        k for k, r in enumerate(records) if Path(r["path"]).absolute() == Path(run_dir).absolute()
    ]
    k = same[0] if same else 0
    return [
        refuse_or_note(
            f"run {str(run_dir)!r} is not a run of study {spec['study_id']} "
            f"({str(study)!r}, made from {records[k]['path']!r}): "
            f"{problems[k]}",
            force=force,
        )
    ]
