"""A recording too large for the memory the process may use is refused before any work, with one
line naming the file and the memory needed (never killed by the OS halfway, nothing written)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo import memory
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.pipeline import score_night


def _recording(folder: Path, minutes: float = 2.0, fs: float = 256.0) -> Path:
    rng = np.random.default_rng(1)
    n = int(minutes * 60 * fs)
    sigs = [Signal(lab, rng.normal(0, 5, n), fs) for lab in ("Leg L", "Leg R", "EMG Chin")]
    return write_edf(folder / "night.edf", sigs, physical_ranges={s.label: (-500.0, 500.0) for s in sigs})


def test_memory_estimate_counts_every_channel_read_and_two_more_arrays_per_conditioned_emg() -> None:
    one_read = memory.score_bytes([1_000_000], []) - memory.score_bytes([], [])
    one_conditioned = memory.score_bytes([], [1_000_000]) - memory.score_bytes([], [])
    assert one_read == pytest.approx(memory.OVERHEAD * memory.BYTES_PER_SAMPLE * 1_000_000, rel=1e-6)
    assert one_conditioned == pytest.approx(memory.CONDITIONED_COPIES * one_read, rel=1e-6)
    # an 8-h night at 512 Hz, 10 channels read, 7 EMG conditioned: ~1.9 GiB measured (benchmarks/bench_scale.py)
    n = int(8 * 3600 * 512)
    est = memory.score_bytes([n] * 10, [n] * 7) / 2**30
    assert 1.6 < est < 2.6


def test_memory_available_is_the_smallest_known_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_cgroup_free", lambda: 5 * 2**30)
    monkeypatch.setattr(memory, "_meminfo_free", lambda: 8 * 2**30)
    monkeypatch.setattr(memory, "_address_space_free", lambda: None)
    monkeypatch.setattr(memory, "_dask_worker_free", lambda: None)
    assert memory.available_bytes() == 5 * 2**30
    assert memory.available_bytes(limit=2**30) == 2**30
    for name in ("_cgroup_free", "_meminfo_free"):
        monkeypatch.setattr(memory, name, lambda: None)
    assert memory.available_bytes() is None  # nothing known: the check is skipped
    memory.check_memory(10**15, "x.edf")


def test_memory_meminfo_counts_available_memory_and_free_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    4000000 kB\nSwapFree: 1000 kB\n")
    monkeypatch.setattr(memory, "_MEMINFO", info)
    assert memory._meminfo_free() == 1024 * (4_000_000 + 1000)
    info.write_text("MemTotal: 16000000 kB\n")  # an old kernel without MemAvailable
    assert memory._meminfo_free() is None


def test_memory_cgroup_v2_limit_less_unreclaimable_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.max").write_text(f"{4 * 2**30}\n")
    (tmp_path / "memory.current").write_text(f"{3 * 2**30}\n")
    (tmp_path / "memory.stat").write_text(f"anon 123\ninactive_file {2**30}\n")
    monkeypatch.setattr(memory, "_CGROUP", tmp_path)
    assert memory._cgroup_free() == 2 * 2**30  # page cache that can be reclaimed counts as free
    (tmp_path / "memory.max").write_text("max\n")  # no limit on v2: none from the cgroup
    assert memory._cgroup_free() is None


def test_memory_outside_a_dask_worker_gives_no_worker_limit() -> None:
    assert memory._dask_worker_free() is None


def test_score_refuses_a_recording_needing_more_memory_than_available_one_line_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _recording(tmp_path)
    n = int(2 * 60 * 256)
    need = memory.score_bytes([n] * 3, [n] * 3)
    monkeypatch.setattr(memory, "available_bytes", lambda limit=None: need - 1)
    with pytest.raises(memory.MemoryNeedError, match="needs about .* GiB of memory"):
        score_night(path)
    out = tmp_path / "results"
    rc, _stdout, err = run_cli(capsys, "score", str(path), "--out", str(out))
    assert_clean_cli_error(rc, err, path, "memory", "--detectors")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.edf"]


def test_score_runs_when_the_memory_needed_is_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _recording(tmp_path)
    n = int(2 * 60 * 256)
    need = memory.score_bytes([n] * 3, [n] * 3)
    monkeypatch.setattr(memory, "available_bytes", lambda limit=None: need + 1)
    result = score_night(path, detectors=("plm",))
    assert "plm" in result.summary()
