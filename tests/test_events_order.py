"""The event table's row order (onset, then channel, missing channels last, stable) found by
NumPy (:func:`somnomyo.events.onset_order`) is that of pandas' ``sort_values``, which it replaces
on the hot path of rescoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from somnomyo.events import make_events, onset_order


def _table(rng: np.random.Generator, n: int, *, ties: bool) -> pd.DataFrame:
    onset = rng.integers(0, max(1, n // 3), n).astype(float) if ties else rng.uniform(0, 1000, n)
    if ties and n:
        onset[rng.random(n) < 0.1] = -0.0  # -0.0 and 0.0 are equal onsets
    labels = np.array(["Leg L", "Leg R", "Chin", "Arm L", "Leg L,Leg R", "Éa", "a"], dtype=object)
    channel = labels[rng.integers(0, len(labels), n)]
    channel[rng.random(n) < 0.15] = None
    return pd.DataFrame(
        {
            "onset": onset,
            "duration": rng.uniform(0, 3, n),
            "trial_type": "leg_movement",
            "channel": pd.array(channel, dtype="string"),
            "row": np.arange(n),
        }
    )


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("ties", [False, True])
def test_onset_order_equals_pandas_stable_sort_by_onset_then_channel_missing_last(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    for n in (0, 1, 2, 7, 200):
        t = _table(rng, n, ties=ties)
        expected = t.sort_values(["onset", "channel"], kind="stable", na_position="last")["row"].to_numpy()
        order = onset_order(t)
        assert order is not None
        np.testing.assert_array_equal(t["row"].to_numpy()[order], expected)


def test_onset_order_leaves_tables_with_missing_onsets_to_pandas() -> None:
    t = pd.DataFrame({"onset": [2.0, np.nan, 1.0], "channel": pd.array(["a", "b", "c"], dtype="string")})
    assert onset_order(t) is None
    out = make_events(t.assign(trial_type="leg_movement", duration=0.5))
    assert out["onset"].tolist()[:2] == [1.0, 2.0] and np.isnan(out["onset"].iloc[2])


def test_make_events_orders_rows_as_pandas_sort_values_does() -> None:
    rng = np.random.default_rng(99)
    t = _table(rng, 500, ties=True)
    got = make_events(t, row="int64")["row"].to_numpy()
    expected = t.sort_values(["onset", "channel"], kind="stable", na_position="last")["row"].to_numpy()
    np.testing.assert_array_equal(got, expected)
