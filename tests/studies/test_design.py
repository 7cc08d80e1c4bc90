"""Study design: pairs, trials, participants' plans, and media that keep every sample."""

from __future__ import annotations

import hashlib
import json
import re
from fractions import Fraction

import numpy as np
import pytest

from vqabench.errors import ConfigError, DatasetError
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.io.video import open_video, read_all
from vqabench.studies import create_study, load_spec, participant_plan
from vqabench.studies.design import (
    build_trials,
    choose_presentation,
    min_view_ms,
    parse_screen,
    pick_pairs,
    read_consent,
    viewport_needed,
)

pytestmark = pytest.mark.slow  # its fixtures build runs and studies (seconds each)


def _cond(cid, seq, codec, kbps):
    return {
        "id": cid,
        "sequence": seq,
        "reference": "source",
        "codec": codec,
        "rate_point": f"r{kbps}",
        "kbps": kbps,
    }


CONDS = [
    _cond("c0", "S", "x264", 100),
    _cond("c1", "S", "x264", 400),
    _cond("c2", "S", "x265", 90),
    _cond("c3", "S", "x265", 330),
    _cond("c4", "S", "x265", 180),
]


def test_pairs_against_the_anchor_at_the_nearest_rate_and_the_ladder():
    # x265 at 90 -> x264 at 100; 180 -> 100 (|ln 1.8| < |ln 2.22|); 330 -> 400.
    assert pick_pairs(CONDS, anchor="x264", ladder=False) == [
        ("c2", "c0"),
        ("c4", "c0"),
        ("c3", "c1"),
    ]
    # ladder: adjacent rates of each codec, higher rate first
    assert pick_pairs(CONDS, anchor="x264")[3:] == [("c1", "c0"), ("c4", "c2"), ("c3", "c4")]


def test_pairs_all_adds_the_nearest_in_both_directions():
    pairs = pick_pairs(CONDS, anchor="x264", pairs="all", ladder=False)
    # x264 -> nearest x265: 100 -> 90, 400 -> 330; x265 -> nearest x264: 90 -> 100 (the
    # same pair), 180 -> 100 (new), 330 -> 400 (the same pair)
    assert pairs == [("c0", "c2"), ("c1", "c3"), ("c0", "c4")]
    with pytest.raises(ConfigError, match="anchor='vp9'"):
        pick_pairs(CONDS, anchor="vp9")


def test_trials_have_training_repeats_and_attention():
    rng = np.random.default_rng(0)
    trials = build_trials(
        "2afc",
        CONDS,
        {"S": "s0"},
        {"S": "a0"},
        pairs=[("c2", "c0"), ("c3", "c1")],
        repeats=1,
        attention=2,
        rng=rng,
        prefix="x",
    )
    kinds = [t["kind"] for t in trials]
    assert kinds == ["training", "test", "test", "repeat", "attention", "attention"]
    rep = trials[3]
    original = next(t for t in trials if t["id"] == rep["repeat_of"])
    assert original["kind"] == "test" and (rep["a"], rep["b"]) == (original["a"], original["b"])
    assert all((t["a"], t["b"]) == ("s0", "a0") for t in trials[4:])
    assert len({t["id"] for t in trials}) == len(trials) and trials[0]["id"] == "x-t0"


def test_participant_plan_is_seeded_per_participant(study_2afc):
    spec = load_spec(study_2afc)
    alice = participant_plan(spec, "alice")
    assert alice == participant_plan(spec, "alice")
    assert alice != participant_plan(spec, "bob")
    assert alice[0][0] == spec["trials"][0]["id"] and spec["trials"][0]["kind"] == "training"
    assert sorted(t for t, _ in alice) == sorted(t["id"] for t in spec["trials"])
    swaps = [s for _, s in participant_plan(spec, "carol")]
    assert True in swaps and False in swaps


def test_spec_records_everything_needed(study_2afc, tiny_run):
    spec = json.loads((study_2afc / "study.json").read_text())
    assert spec["design"] == "2afc" and spec["anchor"] == "x264" and spec["seed"] == 3
    assert spec["runs"][0]["path"] == str(tiny_run)
    assert spec["media"]["args"][spec["media"]["args"].index("-c:v") + 1] == "libvpx-vp9"
    assert len(spec["conditions"]) == 8
    # 2 sequences x (2 x265 points vs x264 + 2 ladder pairs) = 8 tests, 1 repeat (10 %)
    kinds = [t["kind"] for t in spec["trials"]]
    assert (kinds.count("test"), kinds.count("repeat"), kinds.count("attention")) == (8, 1, 2)
    assert all(s["exact"] for s in spec["sequences"].values())
    # 64x64 videos: side by side (2 * 64 + 16 gap) x (64 + 48 bar) fits 1920x1080
    assert spec["presentation"] == "side-by-side"
    assert spec["display"]["requested"] == "auto" and spec["display"]["screen"] == "1920x1080"
    assert spec["display"]["viewport_needed"] == [144, 112]
    cmd = spec["command"]
    assert cmd[cmd.index("--presentation") + 1] == "auto"
    assert cmd[cmd.index("--screen") + 1] == "1920x1080"


def test_media_keep_every_decoded_sample(study_2afc, tiny_run, tmp_path):
    """The WebM of a condition decodes to exactly the frames of the run's bitstream."""
    spec = load_spec(study_2afc)
    cond = next(
        c
        for c in spec["conditions"]
        if c["codec"] == "x265" and c["rate_point"] == "qp=40" and c["sequence"] == "Beta"
    )
    item = next(m for m in spec["media"]["items"] if m["id"] == cond["id"])
    a, b = tmp_path / "bitstream.yuv", tmp_path / "webm.yuv"
    run_ffmpeg(["-i", tiny_run / cond["bitstream"], "-f", "rawvideo", "-pix_fmt", "yuv420p", a])
    run_ffmpeg(["-i", study_2afc / item["file"], "-f", "rawvideo", "-pix_fmt", "yuv420p", b])
    ref = read_all(open_video(a, width=64, height=64, fps=Fraction(25)))
    got = read_all(open_video(b, width=64, height=64, fps=Fraction(25)))
    assert ref.y.shape == (8, 64, 64)
    for p, q in zip(ref, got, strict=True):
        np.testing.assert_array_equal(p, q)


def test_attention_video_is_obviously_degraded(study_2afc, tmp_path):
    from skimage.metrics import peak_signal_noise_ratio

    spec = load_spec(study_2afc)
    src, att = (
        next(m for m in spec["media"]["items"] if m["kind"] == k and m["sequence"] == "Alpha")
        for k in ("source", "attention")
    )
    planes = []
    for m in (src, att):
        out = tmp_path / f"{m['id']}.yuv"
        run_ffmpeg(["-i", study_2afc / m["file"], "-f", "rawvideo", "-pix_fmt", "yuv420p", out])
        planes.append(read_all(open_video(out, width=64, height=64, fps=Fraction(25))).y)
    assert peak_signal_noise_ratio(planes[0], planes[1], data_range=255) < 25


def test_create_refuses_bad_input(tiny_run, tmp_path, study_2afc):
    with pytest.raises(ConfigError, match="design='mos'"):
        create_study([tiny_run], design="mos", out=tmp_path / "x")
    with pytest.raises(ConfigError, match="study.json exists"):
        create_study([tiny_run], design="2afc", out=study_2afc)
    with pytest.raises(DatasetError, match="lacks results.csv"):
        create_study([tmp_path], design="acr", out=tmp_path / "y")
    with pytest.raises(DatasetError, match="more than one run"):
        create_study([tiny_run, tiny_run], design="acr", out=tmp_path / "z")
    with pytest.raises(ConfigError, match=r"screen='100x60'.*at least 64x64"):
        create_study([tiny_run], design="acr", out=tmp_path / "w", screen="100x60")
    with pytest.raises(ConfigError, match="presentation='toggle'.*for design acr"):
        create_study([tiny_run], design="acr", out=tmp_path / "w", presentation="toggle")
    assert not (tmp_path / "w").exists()  # refused before any media is written


def test_a_study_designed_before_presentations_gets_the_auto_choice(study_2afc, tmp_path):
    spec = json.loads((study_2afc / "study.json").read_text())
    del spec["presentation"], spec["display"]
    for size, expected in (
        ((64, 64), "side-by-side"),
        ((1280, 720), "toggle"),
        ((3840, 2160), "sequential"),
    ):
        for seq in spec["sequences"].values():
            seq["width"], seq["height"] = size
        (tmp_path / "study.json").write_text(json.dumps(spec))
        assert load_spec(tmp_path)["presentation"] == expected


# Hand-derived: side by side needs 2 W + 16 across and H + 48 down, toggle W x (H + 48),
# sequential W x H (its bar covers the stopped video), all in CSS px = pixels / dpr.
@pytest.mark.parametrize(
    "design, size, screen, expected",
    [
        ("2afc", (640, 360), (1366, 768), "side-by-side"),  # 1296 x 408
        ("2afc", (952, 540), (1920, 1080), "side-by-side"),  # 1920 x 588: exactly
        ("2afc", (960, 540), (1920, 1080), "toggle"),  # 1936 > 1920 across
        ("2afc", (1280, 720), (1920, 1080), "toggle"),
        ("2afc", (1280, 720), (1366, 768), "toggle"),  # 720 + 48 = 768: exactly
        ("2afc", (1920, 1080), (1920, 1080), "sequential"),  # 1080 + 48 > 1080
        ("acr", (1280, 720), (1920, 1080), "sequential"),
        ("dcr", (64, 64), (1920, 1080), "sequential"),
    ],
)
def test_auto_shows_videos_side_by_side_only_when_both_fit(design, size, screen, expected):
    assert choose_presentation(design, "auto", [(64, 64), size], screen) == expected


def test_presentations_the_screen_cannot_hold_are_refused():
    with pytest.raises(
        ConfigError,
        match=r"screen='1920x1080'.*at least 3840x2160 .*3840x2160 "
        "videos at native size sequential",
    ):
        choose_presentation("2afc", "auto", [(3840, 2160)], (1920, 1080))
    with pytest.raises(ConfigError, match=r"at least 2576x768 .*side-by-side"):
        choose_presentation("2afc", "side-by-side", [(1280, 720)], (1920, 1080))
    with pytest.raises(ConfigError, match=r"at least 1920x1128 .*toggle"):
        choose_presentation("2afc", "toggle", [(1920, 1080)], (1920, 1080))
    with pytest.raises(ConfigError, match="presentation='grid'"):
        choose_presentation("2afc", "grid", [(64, 64)], (1920, 1080))


def test_native_size_is_one_video_pixel_per_device_pixel():
    assert viewport_needed("toggle", 1920, 1080, dpr=2) == (960, 588)
    assert viewport_needed("side-by-side", 1280, 720, dpr=1.25) == (2 * 1024 + 16, 576 + 48)
    assert viewport_needed("sequential", 1280, 720) == (1280, 720)
    assert parse_screen("1366X768") == (1366, 768)
    for bad in ("1920", "1920x", "0x1080", "1920x1080x2", "wide"):
        with pytest.raises(ConfigError, match="screen=.*WIDTHxHEIGHT"):
            parse_screen(bad)


@pytest.mark.slow
def test_the_spec_command_reproduces_the_study(study_2afc, tmp_path):
    from vqabench.cli import main

    spec = load_spec(study_2afc)
    argv = list(spec["command"][1:])
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    again = load_spec(tmp_path / "again")

    def strip(trials, prefix):
        return [
            {k: (v.replace(prefix, "") if isinstance(v, str) else v) for k, v in t.items()}
            for t in trials
        ]

    assert again["conditions"] == spec["conditions"]
    assert strip(again["trials"], again["study_id"]) == strip(spec["trials"], spec["study_id"])
    assert [m["sha256"] for m in again["media"]["items"]] == [
        m["sha256"] for m in spec["media"]["items"]
    ]  # the same bytes shown


def _plan_spec(n_tests: int, repeats: list[int]) -> dict:
    """A spec of one training trial, ``n_tests`` tests and repeats of the tests given."""
    trials = [{"id": "t0", "kind": "training"}]
    trials += [{"id": f"t{k}", "kind": "test"} for k in range(1, n_tests + 1)]
    trials += [{"id": f"r{k}", "kind": "repeat", "repeat_of": f"t{k}"} for k in repeats]
    return {"seed": 0, "design": "2afc", "trials": trials}


def test_a_repeat_never_comes_right_after_its_original():
    """4 tests and 2 repeats: a uniform shuffle puts a repeat next to its original in about
    half the orders (the old plans did, for 108 of these 200 participants)."""
    spec = _plan_spec(4, [1, 3])
    pairs = {("t1", "r1"), ("r1", "t1"), ("t3", "r3"), ("r3", "t3")}
    for k in range(200):
        plan = participant_plan(spec, f"p{k}")
        order = [t for t, _ in plan]
        assert order[0] == "t0" and sorted(order) == sorted(t["id"] for t in spec["trials"])
        assert not pairs & set(zip(order, order[1:], strict=False)), (k, order)
        assert plan == participant_plan(spec, f"p{k}")
    # a study whose only trials are a test and its repeat cannot avoid it: still a plan
    assert sorted(t for t, _ in participant_plan(_plan_spec(1, [1]), "p0")) == ["r1", "t0", "t1"]


@pytest.mark.parametrize(
    "design, presentation, fps, frames, fixed, expected",
    [
        ("2afc", "side-by-side", "25", 8, None, 320),  # the three videos play together
        ("2afc", "toggle", "25", 8, None, 320),
        ("2afc", "sequential", "25", 8, None, 960),  # reference, version 1, version 2
        ("acr", "sequential", "25", 8, None, 320),
        ("dcr", "sequential", "25", 8, None, 640),  # reference, then the processed video
        ("acr", "sequential", "30000/1001", 30, None, 1001),
        ("2afc", "sequential", "25", 8, 1.5, 1500),  # --min-view-s
    ],
)
def test_minimum_viewing_time_is_the_trials_playing_time(
    design, presentation, fps, frames, fixed, expected
):
    spec = {
        "design": design,
        "presentation": presentation,
        "min_view_s": fixed,
        "sequences": {"S": {"fps": fps, "frames": frames}},
    }
    assert min_view_ms(spec, {"sequence": "S"}) == expected


def test_media_names_are_opaque_and_new_options_recorded(study_2afc):
    spec = load_spec(study_2afc)
    items = spec["media"]["items"]
    kinds = {m["kind"] for m in items}
    assert kinds == {"condition", "source", "attention"}
    for m in items:
        assert re.fullmatch(r"media/[0-9a-f]{20}\.webm", m["file"]), m
        assert (study_2afc / m["file"]).is_file()
    assert (spec["consent"], spec["completion_code"], spec["min_view_s"]) == (None, None, None)


def test_consent_and_completion_code_are_checked_before_any_media(tiny_run, tmp_path):
    text = tmp_path / "consent.txt"
    text.write_text("Videos.\n\nYou may stop.\n", encoding="utf-8")
    got = read_consent(text)
    assert got["text"] == "Videos.\n\nYou may stop." and got["file"] == str(text)
    assert got["sha256"] == hashlib.sha256(b"Videos.\n\nYou may stop.").hexdigest()
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9")
    (tmp_path / "empty.txt").write_text("  \n")
    for bad, match in (
        (tmp_path / "missing.txt", "consent=.*missing.txt.*readable"),
        (tmp_path / "latin1.txt", "consent=.*UTF-8"),
        (tmp_path / "empty.txt", "consent=.*non-empty"),
    ):
        with pytest.raises(ConfigError, match=match):
            create_study([tiny_run], design="acr", out=tmp_path / "w", consent=bad)
    with pytest.raises(ConfigError, match="completion_code='no spaces'"):
        create_study([tiny_run], design="acr", out=tmp_path / "w", completion_code="no spaces")
    with pytest.raises(ConfigError, match="min_view_s=-1"):
        create_study([tiny_run], design="acr", out=tmp_path / "w", min_view_s=-1)
    assert not (tmp_path / "w").exists()
