"""Projected wall time: hand-derived schedules (longest job first, to the first free worker)."""

from __future__ import annotations

import pytest

from vqabench.errors import ConfigError
from vqabench.runner.projection import project_wall_s


def test_longest_first_on_two_workers_by_hand():
    # 4 -> A (4), 3 -> B (3), 3 -> B (6), 2 -> A (6): both end at 6
    assert project_wall_s([2.0, 3.0, 4.0, 3.0], workers=2) == 6.0
    # with 0.5 s lost per job: A 4.5, B 3.5, B 7.0, A 7.0; then 1 s start-up
    assert (
        project_wall_s([2.0, 3.0, 4.0, 3.0], workers=2, per_job_overhead_s=0.5, startup_s=1.0)
        == 8.0
    )
    # side by side at half speed: every cost doubled
    assert project_wall_s([2.0, 3.0, 4.0, 3.0], workers=2, slowdown=2.0) == 12.0


def test_greedy_schedule_not_the_optimum():
    # LPT: A 3, B 3, A 5, B 5, A 7 -> 7 s (the optimum, 3+3 | 2+2+2, is 6 s): the runner's
    # list schedule is what is projected
    assert project_wall_s([2, 2, 2, 3, 3], workers=2) == 7.0


def test_one_worker_is_the_sum_and_many_workers_the_longest_job():
    costs = [1.5, 0.25, 4.0, 2.25]
    assert project_wall_s(costs, workers=1) == 8.0
    assert project_wall_s(costs, workers=16, startup_s=2.0) == 6.0
    assert project_wall_s([], workers=3, startup_s=1.0) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"workers": 2, "per_job_overhead_s": -1.0}, "per_job_overhead_s"),
        ({"workers": 2, "slowdown": 0.5}, "slowdown"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        project_wall_s([1.0], **kwargs)
    with pytest.raises(ConfigError, match="job_costs_s"):
        project_wall_s([1.0, -2.0], workers=1)
