"""How much memory scoring a recording needs, how much this process may use, and the refusal
when the first exceeds the second (a one-line error before any work, instead of the operating
system killing the process halfway).

The estimate is an engineering model of the whole-night pipeline, calibrated on
``benchmarks/bench_scale.py`` (8-h and 24-h recordings at 512 Hz, 10 channels; peak RSS within
the estimate): every channel read is held as float32 for the night, and every EMG channel the
detectors condition adds its band-passed signal and its envelope (two more float32 arrays of
the same length); :data:`OVERHEAD` covers temporaries, :data:`BASE_BYTES` the interpreter and
libraries. It is not a clinical rule (no setting): it only decides whether to start.

The memory available is the smallest of: the cgroup limit less what the cgroup holds that
cannot be reclaimed (cgroup v2 ``memory.max`` / ``memory.current`` / ``memory.stat``, or v1),
``MemAvailable`` plus free swap (``/proc/meminfo``), the address-space limit (``RLIMIT_AS``)
less what is mapped now, inside a Dask worker the share of its ``memory_limit`` at which the
nanny terminates it (``distributed.worker.memory.terminate``) less what it holds, and a limit the
caller gives.
Where none can be read the check is skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from somnomyo.errors import SomnomyoError

__all__ = ["MemoryNeedError", "available_bytes", "check_memory", "score_bytes"]

BYTES_PER_SAMPLE = 4  # float32, as the pipeline reads and conditions
CONDITIONED_COPIES = 2  # band-passed signal + envelope per conditioned EMG channel
OVERHEAD = 1.3  # temporaries above the arrays held (bench_scale.py: peak RSS of 8 h, 24 h, 1000 and 2048 Hz below it)
BASE_BYTES = 300 * 2**20  # interpreter, numpy, pandas, the package

_CGROUP = Path("/sys/fs/cgroup")
_MEMINFO = Path("/proc/meminfo")
_STATUS = Path("/proc/self/status")


class MemoryNeedError(SomnomyoError):
    """Scoring the recording needs more memory than this process may use."""


def score_bytes(samples_read: Iterable[int], samples_conditioned: Iterable[int]) -> int:
    """Estimated peak memory of scoring: ``samples_read`` per channel read, ``samples_conditioned``
    per EMG channel conditioned (see the module docstring for the model)."""
    held = BYTES_PER_SAMPLE * (sum(samples_read) + CONDITIONED_COPIES * sum(samples_conditioned))
    return int(OVERHEAD * held + BASE_BYTES)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat_field(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == key and parts[1].isdigit():
                return int(parts[1])
    except OSError:
        pass
    return 0


def _cgroup_free() -> int | None:
    """The cgroup's limit less its unreclaimable usage (v2, else v1); None without a limit."""
    limit = _read_int(_CGROUP / "memory.max")
    if limit is not None:
        used = _read_int(_CGROUP / "memory.current") or 0
        return limit - max(0, used - _stat_field(_CGROUP / "memory.stat", "inactive_file"))
    v1 = _CGROUP / "memory"
    limit = _read_int(v1 / "memory.limit_in_bytes")
    if limit is None or limit >= 2**60:  # v1 says "no limit" with a huge number
        return None
    used = _read_int(v1 / "memory.usage_in_bytes") or 0
    return limit - max(0, used - _stat_field(v1 / "memory.stat", "total_inactive_file"))


def _meminfo_free() -> int | None:
    """``MemAvailable`` + ``SwapFree`` of ``/proc/meminfo``, bytes; None where unreadable."""
    try:
        lines = _MEMINFO.read_text().splitlines()
    except OSError:
        return None
    kib = {}
    for line in lines:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            kib[name] = int(parts[0])
    if "MemAvailable" not in kib:
        return None
    return 1024 * (kib["MemAvailable"] + kib.get("SwapFree", 0))


def _address_space_free() -> int | None:
    """``RLIMIT_AS`` less the address space mapped now (``VmSize``); None without a limit."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft in (resource.RLIM_INFINITY, -1):
        return None
    return soft - 1024 * _stat_field(_STATUS, "VmSize:")


def _dask_worker_free() -> int | None:
    """Inside a Dask worker (``distributed`` already imported): the memory at which its nanny
    terminates it less the worker's resident memory now; None elsewhere or without a limit."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except (ValueError, AttributeError):
        return None
    limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    if not limit:
        return None
    try:
        import dask

        share = float(dask.config.get("distributed.worker.memory.terminate", 0.95) or 1.0)
    except ImportError:
        share = 0.95
    return int(share * limit) - 1024 * _stat_field(_STATUS, "VmRSS:")


def available_bytes(limit: int | None = None) -> int | None:
    """Memory this process may still use, bytes (see the module docstring); None where unknown.
    ``limit``: a cap the caller knows of."""
    sources = (_cgroup_free(), _meminfo_free(), _address_space_free(), _dask_worker_free(), limit)
    found = [v for v in sources if v is not None]
    return max(0, min(found)) if found else None


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_memory(need: int, path: str | os.PathLike[str], *, limit: int | None = None) -> None:
    """Raise :class:`MemoryNeedError` (one line naming ``path`` and the memory needed) when
    ``need`` bytes exceed what :func:`available_bytes` says this process may use."""
    free = available_bytes(limit)
    if free is not None and need > free:
        raise MemoryNeedError(
            f"scoring this recording needs about {_gib(need)} of memory and {_gib(free)} is available; "
            "score fewer --detectors (e.g. --detectors plm), or on a machine with more memory",
            path,
        )
