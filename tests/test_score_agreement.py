import pandas as pd

from somnomyo.score.agreement import match_events


def ev(*pairs, side=None):
    df = pd.DataFrame(pairs, columns=["onset", "duration"])
    if side is not None:
        df["side"] = side
    return df


def test_events_match_when_iou_reaches_0_5_and_not_below():
    ref = ev((10.0, 2.0))
    assert match_events(ev((11.0, 2.0)), ref).tp == 0  # IoU 1/3
    assert match_events(ev((10.0, 1.0)), ref).tp == 1  # IoU 0.5
    assert match_events(ev((10.0, 0.98)), ref).tp == 0  # IoU 0.49


def test_matching_is_one_to_one_best_iou_first():
    ref = ev((10.0, 2.0))
    a = match_events(ev((10.0, 1.8), (10.1, 1.9)), ref)
    assert (a.tp, a.fp, a.fn) == (1, 1, 0)
    assert a.pairs == ((1, 0),)


def test_f1_precision_recall_and_grouping_by_side():
    det = ev((0.0, 1.0), (5.0, 1.0), (9.0, 1.0), side=["left", "right", "left"])
    ref = ev((0.0, 1.0), (5.0, 1.0), side=["left", "left"])
    a = match_events(det, ref, by="side")
    assert (a.tp, a.fp, a.fn) == (1, 2, 1)
    assert a.f1 == 2 * 1 / (2 + 3)
    assert match_events(ev(), ev()).f1 is None
