"""Where and how a run was trained: this machine, its software and the executor, stamped into a
run's ``result.json`` when it is trained and carried into its record (:mod:`records`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

#: Set by the executors in their workers (``local pool``, ``ray``); unset: ``in-process``.
EXECUTOR_ENV = "FMNIST_EXECUTOR"
LOCK_FILE = "requirements.lock"
_ROOT = Path(__file__).resolve().parents[2]


def lock_hash() -> str | None:
    """The first 16 hex digits of the lock file's SHA-256 (``None`` outside a checkout)."""
    path = _ROOT / LOCK_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where it cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


#: CPU flags that mean native bfloat16 arithmetic (AVX-512 BF16 on Zen 4 / Cooper Lake and
#: later, AMX on Sapphire Rapids and later).
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
#: Set to 1 to train in mixed_bfloat16 on a CPU without native bfloat16 anyway.
FORCE_BFLOAT16_ENV = "FMNIST_FORCE_BFLOAT16"


def check_precision(precision: str) -> None:
    """Refuse ``mixed_bfloat16`` training where it would be slow: a CPU-only machine whose CPU
    lacks native bfloat16 (TensorFlow then emulates it, several times slower than float32).

    Args:
        precision: A run config's precision.

    Raises:
        ValueError: For ``mixed_bfloat16`` on such a machine, unless ``$FMNIST_FORCE_BFLOAT16``
            is 1; the message names the missing flags and both ways on.
    """
    if precision != "mixed_bfloat16" or _gpus() or os.environ.get(FORCE_BFLOAT16_ENV) == "1":
        return
    if not cpu_flags() & set(BFLOAT16_FLAGS):
        raise ValueError(
            f"precision=mixed_bfloat16 refused: this CPU ({_cpu_model()}) has no native bfloat16 "
            f"({' or '.join(BFLOAT16_FLAGS)} missing from /proc/cpuinfo), so TensorFlow would "
            f"emulate it, several times slower than float32. Train with precision=float32, or "
            f"set {FORCE_BFLOAT16_ENV}=1 to train in bfloat16 anyway.")


def _gpus() -> list[str]:
    """NVIDIA GPUs by model, from the driver's /proc files (no TensorFlow import needed)."""
    found = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            lines = info.read_text().splitlines()
        except OSError:
            continue
        found += [line.split(":", 1)[1].strip() for line in lines if line.startswith("Model:")]
    return found


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """This machine and software, as a record's provenance names them: ``cpu`` (model),
    ``cores``, ``gpus`` (models), ``python``, ``tensorflow``, ``keras`` (installed versions) and
    ``lock`` (:func:`lock_hash`)."""
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "gpus": _gpus(),
            "python": platform.python_version(), "tensorflow": _version("tensorflow"),
            "keras": _version("keras"), "lock": lock_hash()}


def describe_machine(info: dict) -> str:
    """E.g. ``"Intel(R) Xeon(R) ..., 2 cores, no GPU"``."""
    gpus = ", ".join(info.get("gpus") or []) or "no GPU"
    return f"{info.get('cpu', 'unknown CPU')}, {info.get('cores', '?')} cores, {gpus}"


def threads() -> dict[str, int] | None:
    """TensorFlow's thread pools in this process (0: TensorFlow's default, every core), or
    ``None`` where TensorFlow is not loaded."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


def stamp() -> dict[str, Any]:
    """What a finished run records about itself: ``finished`` (UTC, ISO 8601), ``machine``
    (:func:`machine`), ``executor`` and ``threads`` (:func:`threads`: training is deterministic
    for a thread count, so ``records verify`` retrains at the same one)."""
    return {"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "executor": os.environ.get(EXECUTOR_ENV, "in-process"),
            "threads": threads()}
