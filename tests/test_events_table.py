import numpy as np
import pandas as pd

from somnomyo.events import COLUMNS, concat_events, empty_events, make_events, read_events_tsv, write_events_tsv


def test_empty_event_table_has_every_column_and_dtype():
    df = empty_events()
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 0
    for c, (t, _) in COLUMNS.items():
        assert str(df[c].dtype) == t


def test_make_events_orders_columns_sorts_by_onset_and_keeps_extras():
    df = make_events(
        [
            {"onset": 5.0, "duration": 1.0, "trial_type": "leg_movement", "channel": "Leg L", "imi_s": 3.0},
            {"onset": 1.0, "duration": 0.6, "trial_type": "leg_movement", "channel": "Leg R"},
        ]
    )
    assert list(df.columns)[: len(COLUMNS)] == list(COLUMNS)
    assert df.columns[-1] == "imi_s"
    assert df["onset"].tolist() == [1.0, 5.0]


def test_events_tsv_round_trip_writes_bids_booleans_and_na(tmp_path):
    df = make_events(
        [
            {
                "onset": 1.0,
                "duration": 0.6,
                "trial_type": "leg_movement",
                "channel": "Leg L",
                "side": "left",
                "periodic": True,
                "respiratory": False,
                "clm_id": 3,
                "amplitude_uv": 21.5,
            },
            {
                "onset": 2.0,
                "duration": 0.7,
                "trial_type": "leg_movement",
                "channel": "Leg R",
                "side": "right",
                "periodic": False,
            },
        ]
    )
    p = write_events_tsv(df, tmp_path / "events.tsv")
    text = p.read_text()
    assert "\ttrue\t" in text and "\tfalse\t" in text and "n/a" in text
    back = read_events_tsv(p)
    assert back["periodic"].tolist() == [True, False]
    assert back["clm_id"].tolist()[0] == 3 and pd.isna(back["clm_id"].iloc[1])
    assert np.isclose(back["amplitude_uv"].iloc[0], 21.5)
    assert not list(tmp_path.glob(".*tmp"))


def test_concat_of_nothing_is_a_complete_empty_table():
    assert list(concat_events([]).columns) == list(COLUMNS)
