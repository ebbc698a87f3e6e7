"""Only throwaway names reach the live test and the sweeper."""

import pytest

from spark_runs.live.naming import (
    StackNameError,
    check_stack_name,
    is_live_stack,
    live_stack_in,
    random_stack_name,
)


def test_random_names_are_accepted_and_differ() -> None:
    names = {random_stack_name() for _ in range(20)}
    assert len(names) == 20
    assert all(check_stack_name(name) == name for name in names)


@pytest.mark.parametrize(
    "name",
    [
        "dev",
        "prod",
        "local",
        "live",
        "live-dev",
        "live-3F9C01AB",
        "live-3f9c01ab-prod",
        "x-live-3f9c01ab",
    ],
)
def test_real_or_hand_made_names_are_refused(name: str) -> None:
    with pytest.raises(StackNameError, match="refusing stack"):
        check_stack_name(name)
    assert not is_live_stack(name)


def test_resource_names_and_tags_name_their_live_stack() -> None:
    assert live_stack_in("spark-doks-live-3f9c01ab-pool-x2") == "live-3f9c01ab"
    assert live_stack_in("spark-doks-live-3f9c01ab") == "live-3f9c01ab"
    assert live_stack_in("spark-doks-dev-pool") is None
    assert live_stack_in("spark-doks-live-3f9c01ab0") is None  # not the same name
