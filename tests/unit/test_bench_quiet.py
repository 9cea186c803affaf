"""`fishchips bench` measures only on a quiet machine, unless told --noisy."""

import pytest

from fishchips.bench.isolate import BenchFailed
from fishchips.bench.runner import QUIET_LOAD, require_quiet


def test_a_busy_machine_is_refused_in_one_line_that_names_the_load_and_the_way_out() -> None:
    with pytest.raises(BenchFailed) as refused:
        require_quiet(QUIET_LOAD + 0.5, noisy=False)
    assert str(refused.value) == (
        "the machine is busy (1-minute load average 2.00, above 1.5): its figures would not be fair; "
        "wait until it is quiet, or pass --noisy to run anyway"
    )


@pytest.mark.parametrize(("load", "noisy"), [(0.3, False), (QUIET_LOAD, False), (QUIET_LOAD + 0.5, True)])
def test_a_quiet_machine_or_noisy_runs(load: float, noisy: bool) -> None:
    require_quiet(load, noisy)
