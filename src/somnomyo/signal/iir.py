"""Butterworth second-order sections and ``sosfilt`` without importing ``scipy.signal``.

Why: ``import scipy.signal`` costs ~0.55 s of CPU on top of numpy, pandas, ``scipy.ndimage``
and ``scipy.fft`` (it imports ``scipy.stats``, ``scipy.interpolate`` and ``scipy.optimize``;
measured with ``python -X importtime``), a sixth of the CPU time of a whole ``somnomyo score`` run,
while the leg-movement path needs only a Butterworth design, ``sosfilt_zi`` and ``sosfilt``.

* :func:`butter_sos`: ``scipy.signal.butter(order, cutoff, btype=..., fs=..., output="sos")``
  re-implemented with numpy, step for step as scipy 1.17 does it (analog prototype ``buttap``,
  pre-warping, ``lp2lp_zpk`` / ``lp2hp_zpk`` / ``lp2bp_zpk``, ``bilinear_zpk``, ``zpk2sos``
  with its default ``'nearest'`` pairing: worst pole (closest to the unit circle) last, each
  paired with its nearest zero, the gain in the first section). The same operations in the
  same order give the same sections, in the same order, bit for bit (tested against scipy),
  so float32 filtering rounds exactly as before.
* :func:`sosfilt_zi`: ``scipy.signal.sosfilt_zi`` (same operations, float32 kept float32).
* :func:`butter_design`: the one design cache: :func:`butter_sos` for a (low, high) band, designed
  once per (rate, band, order) and shared read-only (as SleepECG caches ``butter`` per rate).
* :func:`sosfilt`, :func:`sosfilt_inplace`: ``scipy.signal.sosfilt`` for 1-D float32/float64
  data, run by scipy's own compiled kernel (in place, over cache-sized chunks, either direction).

The kernel (private to scipy): the extension module ``scipy/signal/_sosfilt.*.so``, whose
``_sosfilt(sos, x2d, zi3d)`` filters a C-contiguous ``(n_signals, n)`` array in place and
updates ``zi`` ``(n_signals, n_sections, 2)`` in place; it is what ``scipy.signal.sosfilt``
calls after copying its input. It is loaded straight from its file with
``importlib.machinery.ExtensionFileLoader`` under its own name ``scipy.signal._sosfilt``, so the
package ``scipy.signal`` (its ``__init__``) is never imported (Cython's module init registers
the module in ``sys.modules`` under that name itself; a later ``import scipy.signal`` then reuses
it; if ``scipy.signal`` was imported first, its kernel is reused). On first use the kernel is
checked once against a pure-numpy biquad on 16 samples, float32 and float64.

Credit: the design steps follow SciPy's ``scipy.signal`` (BSD-3-Clause, Copyright (c) 2001-2002
Enthought, Inc. 2003, SciPy Developers), so that they give its coefficients; see ``LICENSE``.

Fallback: when anything fails (file missing, another scipy layout or signature, self-test
mismatch) the public ``scipy.signal.sosfilt`` is used instead (imported lazily, logged at debug
level), with the same results. ``USE_KERNEL = False`` forces the fallback (tests).
"""

from __future__ import annotations

import functools
import glob
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable

import numpy as np

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError, check_choice

USE_KERNEL = True  # False: always the public scipy.signal.sosfilt (tests, debugging)
CHUNK = 1 << 17  # samples per kernel call in :func:`sosfilt_inplace` (cache-sized; speed only)
BTYPES = ("lowpass", "highpass", "bandpass")
_KERNEL_NAME = "scipy.signal._sosfilt"
_kernel_cache: list[Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None] = []


# ------------------------------------------------------------------ design (port of scipy 1.17)


def _cplxreal(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complex-conjugate pairs (one of each, positive imaginary part) and real values of ``z``,
    sorted as ``scipy.signal._filter_design._cplxreal`` sorts them."""
    z = np.atleast_1d(z)
    if z.size == 0:
        return z, z
    tol = 100 * np.finfo((1.0 * z).dtype).eps
    z = z[np.lexsort((abs(z.imag), z.real))]
    real_indices = abs(z.imag) <= tol * abs(z)
    zr = z[real_indices].real
    if len(zr) == len(z):
        return np.array([]), zr
    z = z[~real_indices]
    zp = z[z.imag > 0]
    zn = z[z.imag < 0]
    if len(zp) != len(zn):
        raise ValueError("array contains a complex value with no matching conjugate")
    same_real = np.diff(zp.real) <= tol * abs(zp[:-1])
    diffs = np.diff(np.concatenate(([0], same_real, [0])))
    for start, stop in zip(np.nonzero(diffs > 0)[0], np.nonzero(diffs < 0)[0] + 1):  # few runs
        for chunk in (zp[start:stop], zn[start:stop]):
            chunk[...] = chunk[np.lexsort([abs(chunk.imag)])]
    if any(abs(zp - zn.conj()) > tol * abs(zn)):
        raise ValueError("array contains a complex value with no matching conjugate")
    return (zp + zn.conj()) / 2, zr


def _poly(roots: np.ndarray) -> np.ndarray:
    """Polynomial coefficients from roots (``scipy.signal._polyutils.poly``)."""
    seq = np.atleast_1d(np.asarray(roots))
    a = np.ones((1,), dtype=seq.dtype)
    one = np.ones_like(seq[0])
    for zero in seq:  # loop over <= 2 roots
        a = np.convolve(a, np.stack((one, -zero)), mode="full")
    if np.iscomplexobj(a):
        r = np.asarray(seq, dtype=np.complex128)
        if np.all(np.sort(np.imag(r)) == np.sort(np.imag(np.conj(r)))):
            a = np.asarray(np.real(a), copy=True)
    return a


def _section(z: list, p: list) -> np.ndarray:
    """One second-order section (b0 b1 b2 a0 a1 a2) from two zeros and two poles, gain 1."""
    b = np.multiply(np.asarray(1.0), _poly(np.asarray(z)))
    a = np.atleast_1d(_poly(np.asarray(p)))
    sos = np.zeros(6)
    sos[3 - len(b) : 3] = b
    sos[6 - len(a) : 6] = a
    return sos


def _nearest(fro: np.ndarray, to: complex, which: str) -> int:
    """Index of the element of ``fro`` nearest ``to`` among real, complex or any elements."""
    order = np.argsort(np.abs(fro - to))
    if which == "any":
        return int(order[0])
    mask = np.isreal(fro[order])
    if which == "complex":
        mask = ~mask
    return int(order[np.nonzero(mask)[0][0]])


def _zpk2sos(z: np.ndarray, p: np.ndarray, k: float) -> np.ndarray:
    """Digital zeros, poles and gain as second-order sections, ``'nearest'`` pairing
    (``scipy.signal.zpk2sos(z, p, k)``): the pole closest to the unit circle goes into the last
    section, with its nearest zero; the gain multiplies the first section's numerator."""
    p = np.concatenate((p, np.zeros(max(len(z) - len(p), 0))))
    z = np.concatenate((z, np.zeros(max(len(p) - len(z), 0))))
    n_sections = (max(len(p), len(z)) + 1) // 2
    if len(p) % 2 == 1:
        p = np.concatenate((p, [0.0]))
        z = np.concatenate((z, [0.0]))
    z = np.concatenate(_cplxreal(z))
    p = np.concatenate(_cplxreal(p))
    k = float(np.asarray(k).real)

    def idx_worst(v: np.ndarray) -> int:
        return int(np.argmin(np.abs(1 - np.abs(v))))

    sos = np.zeros((n_sections, 6))
    for si in range(n_sections - 1, -1, -1):  # loop over the few sections
        p1_idx = idx_worst(p)
        p1 = p[p1_idx]
        p = np.delete(p, p1_idx)
        if np.isreal(p1) and np.isreal(p).sum() == 0:  # the last real pole
            z1_idx = _nearest(z, p1, "real")
            z1 = z[z1_idx]
            z = np.delete(z, z1_idx)
            sos[si] = _section([z1, 0], [p1, 0])
        elif len(p) + 1 == len(z) and not np.isreal(p1) and np.isreal(p).sum() == 1 and np.isreal(z).sum() == 1:
            z1_idx = _nearest(z, p1, "complex")  # must pair with a complex zero
            z1 = z[z1_idx]
            z = np.delete(z, z1_idx)
            sos[si] = _section([z1, z1.conj()], [p1, p1.conj()])
        else:
            if np.isreal(p1):
                prealidx = np.flatnonzero(np.isreal(p))
                p2_idx = prealidx[idx_worst(p[prealidx])]
                p2 = p[p2_idx]
                p = np.delete(p, p2_idx)
            else:
                p2 = p1.conj()
            z1_idx = _nearest(z, p1, "any")
            z1 = z[z1_idx]
            z = np.delete(z, z1_idx)
            if not np.isreal(z1):
                sos[si] = _section([z1, z1.conj()], [p1, p2])
            else:
                z2_idx = _nearest(z, p1, "real")
                z2 = z[z2_idx]
                z = np.delete(z, z2_idx)
                sos[si] = _section([z1, z2], [p1, p2])
    sos[0][:3] *= k
    return sos


def butter_sos(order: int, cutoff: float | tuple[float, float], *, btype: str, fs: float) -> np.ndarray:
    """Digital Butterworth filter as second-order sections, ``(sections, 6)`` float64.

    The same as ``scipy.signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")``, bit for
    bit (see the module docstring). ``btype``: ``'lowpass'`` or ``'highpass'`` (``cutoff`` one
    frequency in Hz) or ``'bandpass'`` (``cutoff`` = (low, high) Hz); every edge must lie strictly
    between 0 and ``fs / 2``.
    """
    check_choice("btype", btype, BTYPES)
    if int(order) != order or order < 1:
        raise SomnomyoError(f"Butterworth order must be a positive integer; got {order!r}")
    order = int(order)
    fs = float(fs)
    wn = np.asarray(cutoff, dtype=np.float64)
    if wn.size != (2 if btype == "bandpass" else 1):
        raise SomnomyoError(f"a {btype} filter needs {'2 edges' if btype == 'bandpass' else '1 edge'}; got {cutoff!r}")
    wn = wn / (fs / 2)
    if np.any(wn <= 0) or np.any(wn >= 1) or (wn.size == 2 and not wn[0] < wn[1]):
        raise SomnomyoError(f"filter edges {cutoff!r} Hz must rise strictly between 0 and fs/2 = {fs / 2:g} Hz")
    # analog prototype (scipy ``buttap``): poles on the unit circle, no zeros, gain 1
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    z: np.ndarray = np.asarray([], dtype=np.float64)
    p: np.ndarray = -np.exp(1j * np.pi * m / (2 * order))
    k = 1.0
    fs_d = 2.0  # pre-warp for the bilinear transform
    warped = 2 * fs_d * np.tan(np.pi * wn / fs_d)
    if btype == "lowpass":  # scipy ``lp2lp_zpk``
        wo = float(warped.item())
        z, p, k = wo * z, wo * p, k * wo**order
    elif btype == "highpass":  # scipy ``lp2hp_zpk``
        wo = float(warped.item())
        k = k * np.real(np.prod(-z) / np.prod(-p))
        z, p = np.concatenate((wo / z, np.zeros(order))), wo / p
    else:  # scipy ``lp2bp_zpk``
        bw = float(warped[1] - warped[0])
        wo = float(np.sqrt(warped[0] * warped[1]))
        z_lp = (z.astype(np.complex128) * bw / 2).astype(np.complex128)
        p_lp = (p * bw / 2).astype(np.complex128)
        z = np.concatenate(
            (np.concatenate((z_lp + np.sqrt(z_lp**2 - wo**2), z_lp - np.sqrt(z_lp**2 - wo**2))), np.zeros(order))
        )
        p = np.concatenate((p_lp + np.sqrt(p_lp**2 - wo**2), p_lp - np.sqrt(p_lp**2 - wo**2)))
        k = k * bw**order
    # bilinear transform (scipy ``bilinear_zpk``), zeros at -1 for the missing ones
    fs2 = 2.0 * fs_d
    degree = len(p) - len(z)
    z_z = np.concatenate(((fs2 + z) / (fs2 - z), -np.ones(degree)))
    p_z = (fs2 + p) / (fs2 - p)
    k_z = k * np.real(np.prod(fs2 - z) / np.prod(fs2 - p))
    return _zpk2sos(z_z, p_z, k_z)


def butter_design(fs: float, band: tuple[float | None, float | None], *, order: int) -> np.ndarray:
    """Butterworth sections (:func:`butter_sos`) for ``band = (low_hz, high_hz)``: a band-pass with
    both edges, a high-pass with ``low_hz`` alone, a low-pass with ``high_hz`` alone. Designed once
    per (rate, band, order) and shared: the array is read-only."""
    low, high = band
    if low is not None and high is not None:
        return _design(int(order), (float(low), float(high)), "bandpass", float(fs))
    if low is not None:
        return _design(int(order), float(low), "highpass", float(fs))
    if high is not None:
        return _design(int(order), float(high), "lowpass", float(fs))
    raise ValueError("butter_design needs a low or a high edge")


@functools.lru_cache(maxsize=64)
def _design(order: int, cutoff: float | tuple[float, float], btype: str, fs: float) -> np.ndarray:
    sos = butter_sos(order, cutoff, btype=btype, fs=fs)
    sos.flags.writeable = False
    return sos


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Initial state ``(sections, 2)`` for the step-response steady state of every section
    (``scipy.signal.sosfilt_zi``; float32 ``sos`` gives a float32 state, as in scipy): scale by
    the first sample to start a filter without an edge transient."""
    sos = np.asarray(sos)
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ValueError("sos must be shape (n_sections, 6)")
    if sos.dtype.kind in "biu":
        sos = sos.astype(np.float64)
    zi = np.empty((sos.shape[0], 2), dtype=sos.dtype)
    scale = 1.0
    for s in range(sos.shape[0]):  # loop over the few sections
        b, a = sos[s, :3], sos[s, 3:]
        zi[s, ...] = scale * _lfilter_zi(b, a)
        scale *= np.sum(b) / np.sum(a)
    return zi


def _lfilter_zi(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``scipy.signal.lfilter_zi`` for one section (solve ``zi = A zi + B``)."""
    while a.shape[0] > 1 and a[0] == 0.0:
        a = a[1:]
    if a.size < 1:
        raise ValueError("there must be at least one nonzero `a` coefficient")
    if a[0] != 1.0:
        b = b / a[0]
        a = a / a[0]
    n = max(a.shape[0], b.shape[0])
    if a.shape[0] < n:
        a = np.concatenate((a, np.zeros(n - a.shape[0], dtype=a.dtype)))
    elif b.shape[0] < n:
        b = np.concatenate((b, np.zeros(n - b.shape[0], dtype=b.dtype)))
    dt = np.result_type(a, b)
    comp = np.zeros((n - 1, n - 1), dtype=(-a[1:] / (1.0 * a[0:1])).dtype)  # companion(a)
    comp[0, :] = -a[1:] / (1.0 * a[0:1])
    comp[np.arange(1, n - 1), np.arange(0, n - 2)] = 1
    i_minus_a = np.asarray(np.eye(n - 1) - comp.T, dtype=dt)
    return np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])


# ------------------------------------------------------------------ filtering


def _biquad_reference(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Direct-form II transposed, one section, in Python (self-test only: 16 samples)."""
    b0, b1, b2, _, a1, a2 = sos[0]
    z0, z1 = zi[0]
    y = np.empty_like(x)
    for i, v in enumerate(x):  # 16 samples, once per process
        y[i] = b0 * v + z0
        z0 = b1 * v - a1 * y[i] + z1
        z1 = b2 * v - a2 * y[i]
    return y


def _load_kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """scipy's compiled in-place ``_sosfilt`` (see the module docstring), self-tested."""
    mod = sys.modules.get(_KERNEL_NAME)
    if mod is None:
        import scipy

        files = glob.glob(os.path.join(os.path.dirname(scipy.__file__), "signal", "_sosfilt.*"))
        files = [f for f in files if f.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))]
        if not files:
            raise ImportError("scipy/signal/_sosfilt extension not found")
        loader = importlib.machinery.ExtensionFileLoader(_KERNEL_NAME, files[0])
        spec = importlib.util.spec_from_file_location(_KERNEL_NAME, files[0], loader=loader)
        if spec is None:
            raise ImportError(f"no module spec for {files[0]}")
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
    kernel = mod._sosfilt
    sos = np.array([[0.25, 0.5, 0.25, 1.0, -0.5, 0.25]])
    x = np.sin(np.arange(16.0)) + 1.0
    zi = np.array([[0.125, -0.25]])
    want = _biquad_reference(sos, x, zi)
    for dt, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        buf = x.astype(dt)[None, :].copy()
        z = zi.astype(dt)[None].copy()
        kernel(sos.astype(dt), buf, z)
        if not np.allclose(buf[0], want, rtol=tol, atol=tol):
            raise RuntimeError(f"_sosfilt self-test failed ({np.dtype(dt).name})")
    return kernel


def _scipy_kernel(sos: np.ndarray, x2d: np.ndarray, zi3d: np.ndarray) -> None:
    """The fallback: public ``scipy.signal.sosfilt`` with the kernel's in-place semantics."""
    from scipy.signal import sosfilt as sps_sosfilt

    y, zf = sps_sosfilt(sos, x2d, axis=-1, zi=zi3d.transpose(1, 0, 2))
    x2d[...] = y
    zi3d[...] = zf.transpose(1, 0, 2)


def _kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """The in-place kernel to use: scipy's compiled ``_sosfilt`` or the public fallback."""
    if not USE_KERNEL:
        return _scipy_kernel
    if not _kernel_cache:
        try:
            _kernel_cache.append(_load_kernel())
        except Exception as err:  # noqa: BLE001 -- any failure means: use the public function
            logger.debug("sosfilt: scipy's compiled kernel unusable (%s); using scipy.signal.sosfilt", err)
            _kernel_cache.append(None)
    return _kernel_cache[0] or _scipy_kernel


def sosfilt_inplace(
    sos: np.ndarray, buf: np.ndarray, zi: np.ndarray | None = None, *, backward: bool = False, chunk: int = CHUNK
) -> np.ndarray:
    """One causal ``sosfilt`` pass through the sections ``sos`` over the 1-D ``buf``, in place;
    returns ``buf``.

    With a state ``zi`` ``(sections, 2)``: the pass starts from it and ``zi`` is updated in place
    to the final state (chunks of a record filtered in turn give one call's result); ``buf`` must
    be C-contiguous and writeable, and ``sos``, ``zi`` (C-contiguous) and ``buf`` share one dtype,
    float32 or float64 (``ValueError`` otherwise): one ``scipy.signal.sosfilt(sos, buf, zi=zi)``
    call without its copies.

    Without ``zi``: the pass starts in the steady state of the first sample visited (as
    ``sosfiltfilt`` starts each pass) and runs in the dtype of ``sos`` and ``buf`` together,
    forwards or (``backward``) from the end, ``chunk`` samples at a time with the state carried
    over (the forward pass filters ``buf`` itself, the backward pass one reversed chunk copy at a
    time; no full-length copy); the same result as one ``scipy.signal.sosfilt`` call.
    """
    if zi is not None:
        if backward:
            raise ValueError("sosfilt_inplace with a state zi runs forwards only")
        if buf.ndim != 1 or not buf.flags.c_contiguous or not buf.flags.writeable:
            raise ValueError("sosfilt_inplace needs a writeable C-contiguous 1-D buffer")
        if buf.dtype not in (np.float32, np.float64) or zi.dtype != buf.dtype or sos.dtype != buf.dtype:
            raise ValueError("sosfilt_inplace needs float32 or float64 buf, sos and zi of one dtype")
        if zi.shape != (sos.shape[0], 2) or not zi.flags.c_contiguous:
            raise ValueError(f"zi must be a C-contiguous array of shape {(sos.shape[0], 2)}")
        if buf.size:  # the kernel writes nothing to ``sos`` but needs a writeable buffer
            k_sos = sos if sos.flags.c_contiguous and sos.flags.writeable else np.array(sos, order="C")
            _kernel()(k_sos, buf.reshape(1, -1), zi.reshape(1, sos.shape[0], 2))
        return buf
    n = buf.size
    if n == 0:
        return buf
    dt = np.result_type(sos, buf)  # float32 for float32 ``sos`` and data (as scipy)
    state = np.ascontiguousarray(sosfilt_zi(sos) * (buf[-1] if backward else buf[0]), dtype=dt)
    sos = np.array(sos, dtype=dt, order="C")
    if not backward and dt == buf.dtype and buf.flags.c_contiguous:
        for a in range(0, n, chunk):  # loop over cache-sized chunks, not samples
            sosfilt_inplace(sos, buf[a : a + chunk], state)
        return buf
    tmp = np.empty(min(chunk, n), dt)
    for a in range(n - 1, -1, -chunk) if backward else range(0, n, chunk):  # chunks, not samples
        seg = buf[max(a - chunk + 1, 0) : a + 1][::-1] if backward else buf[a : a + chunk]
        t = tmp[: seg.size]
        t[...] = seg
        sosfilt_inplace(sos, t, state)
        seg[...] = t
    return buf


def sosfilt(sos: np.ndarray, x: np.ndarray, *, zi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.sosfilt(sos, x, zi=zi)`` for 1-D real data: returns ``(y, zf)`` (the final
    state; zeros as the start when ``zi`` is None). The computation dtype is that of ``sos``,
    ``x`` and ``zi`` together (float32 only when all are float32); ``x`` is not modified."""
    sos = np.asarray(sos)
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ValueError("sos must be shape (n_sections, 6)")
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError("sosfilt takes 1-D data")
    dtype = np.result_type(sos, x, *(() if zi is None else (np.asarray(zi),)))
    if dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"sosfilt takes real float32/float64 data, not {dtype}")
    if zi is None:
        z = np.zeros((sos.shape[0], 2), dtype)
    else:
        z = np.array(zi, dtype=dtype, order="C")  # a copy: the caller's state is kept
        if z.shape != (sos.shape[0], 2):
            raise ValueError(f"zi must have shape {(sos.shape[0], 2)}, got {z.shape}")
    y = np.array(x, dtype=dtype, order="C")
    sosfilt_inplace(sos.astype(dtype, copy=False), y, z)
    return y, z
