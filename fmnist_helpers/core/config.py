"""A training run's config: every field that determines it, validated, and its key in the store.

:class:`RunConfig` is a plain, JSON-serializable dataclass. Its key is a hash of its canonical JSON
and of :data:`TRAINING_CODE_VERSION`, so a changed config or changed training code gives a new
entry in the run store (:mod:`fmnist_helpers.store.runs`). Imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any

from fmnist_helpers.core.choices import (
    ACTIVATIONS,
    AUGMENTATIONS,
    INITIALIZERS,
    KERNEL_SIZES,
    LR_SCHEDULES,
    MODEL_NAMES,
    OPTIMIZERS,
    PRECISIONS,
)

#: Bump when a change to the training code changes what a config produces.
TRAINING_CODE_VERSION = 1
#: Fields added after runs were stored: left out of the key while at their default, so the
#: runs stored before they existed keep their keys.
OMITTED_AT_DEFAULT = {"lr_schedule": "constant", "label_smoothing": 0.0, "ema_momentum": 0.0,
                      "test_flip": False, "precision": "float32", "weight_decay": 0.0}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines a training run.

    Attributes:
        model: Architecture, one of ``models.MODEL_NAMES``.
        initializer: ``"xavier"``, ``"he"`` or ``"random"``.
        init_std: Standard deviation of the ``"random"`` initializer.
        batch_norm: Batch normalization in every block.
        dropout: Dropout rate after hidden dense layers (seed: keep-prob 0.8 -> 0.2).
        activation: Hidden activation.
        kernel_size: Conv kernel side.
        width: Width multiplier of conv filters and dense units.
        train_size: Training images used (``None``: all 54,000).
        val_size: Validation images used (``None``: all 6,000).
        test_size: Test images evaluated (``None``: all 10,000).
        augment: Names of augmentations applied to training batches (see ``augment.py``).
        epochs: Training epochs.
        batch_size: Images per batch.
        optimizer: ``"adam"``, ``"rmsprop"``, ``"sgd"`` or ``"momentum"`` (SGD, momentum 0.9).
        learning_rate: The optimizer's (initial) learning rate.
        lr_schedule: ``"constant"`` (the seed's) or ``"cosine"`` (decays to zero over the run's
            steps, ``keras.optimizers.schedules.CosineDecay``).
        label_smoothing: Label smoothing of the cross-entropy (0 = none, the seed's).
        ema_momentum: Keep an exponential moving average of the weights with this momentum
            (Keras's optimizer ``use_ema``; 0 = none, the seed's) and evaluate with it.
        test_flip: Test-time augmentation: the final validation and test metrics average the
            predicted probabilities of each image and its mirror image (off: the seed's).
        weight_decay: Decoupled weight decay of the optimizer (Keras's ``weight_decay``: each
            step multiplies every weight by ``1 - learning_rate * weight_decay``; 0 = none,
            the seed's).
        precision: ``"float32"`` (the seed's) or ``"mixed_bfloat16"`` (Keras's mixed policy:
            bfloat16 compute, float32 weights, float32 logits and loss); about twice as fast
            for the full-width models on CPUs with native bfloat16 (``avx512_bf16``).
        seed: Seed of weights, shuffling, dropout and augmentation.
        record_epochs: Epochs after which extras are recorded (0 = before training).
        probe_size: Test images in the fixed probe set used for extras.
    """

    model: str = "convnet"
    initializer: str = "xavier"
    init_std: float = 0.05
    batch_norm: bool = False
    dropout: float = 0.2
    activation: str = "relu"
    kernel_size: int = 3
    width: float = 1.0
    train_size: int | None = None
    val_size: int | None = None
    test_size: int | None = None
    augment: tuple[str, ...] = ()
    epochs: int = 10
    batch_size: int = 1000
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    lr_schedule: str = "constant"
    label_smoothing: float = 0.0
    ema_momentum: float = 0.0
    test_flip: bool = False
    weight_decay: float = 0.0
    precision: str = "float32"
    seed: int = 0
    record_epochs: tuple[int, ...] = ()
    probe_size: int = 1000

    def __post_init__(self):
        # Lists from JSON or the command line become tuples, so configs stay hashable.
        object.__setattr__(self, "augment", tuple(self.augment))
        object.__setattr__(self, "record_epochs", tuple(sorted(set(self.record_epochs))))
        self.validate()

    def validate(self) -> None:
        """Check every field.

        Raises:
            ValueError: Naming the field, the bad value and what is accepted.
        """
        def choice(field, valid):
            value = getattr(self, field)
            if value not in valid:
                raise ValueError(f"run config: {field} must be one of "
                                 f"{', '.join(map(repr, valid))}; got {value!r}.")

        choice("model", MODEL_NAMES)
        choice("initializer", INITIALIZERS)
        choice("activation", ACTIVATIONS)
        choice("kernel_size", KERNEL_SIZES)
        choice("optimizer", OPTIMIZERS)
        choice("lr_schedule", LR_SCHEDULES)
        choice("precision", PRECISIONS)
        for name in self.augment:
            if name not in AUGMENTATIONS:
                raise ValueError(f"run config: unknown augmentation {name!r}; choose from "
                                 f"{', '.join(AUGMENTATIONS)}.")
        for field in ("init_std", "dropout", "width", "learning_rate", "label_smoothing",
                      "ema_momentum", "weight_decay"):
            value = getattr(self, field)
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value)):
                raise ValueError(f"run config: {field} must be a finite number; got {value!r}.")
        checks = [
            ("dropout", 0.0 <= self.dropout < 1.0, "a rate in [0, 1)"),
            ("width", 0.0 < self.width <= 4.0, "in (0, 4]"),
            ("init_std", self.init_std > 0, "positive"),
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1,
             "an integer >= 1"),
            ("learning_rate", self.learning_rate > 0, "positive"),
            ("label_smoothing", 0.0 <= self.label_smoothing < 1.0, "in [0, 1)"),
            ("ema_momentum", 0.0 <= self.ema_momentum < 1.0, "in [0, 1) (0: no average)"),
            ("test_flip", isinstance(self.test_flip, bool), "true or false"),
            ("weight_decay", 0.0 <= self.weight_decay < 1.0, "in [0, 1) (0: none)"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "an integer >= 0"),
            ("probe_size", isinstance(self.probe_size, int) and 1 <= self.probe_size <= 10000,
             "an integer in [1, 10000]"),
            ("batch_norm", isinstance(self.batch_norm, bool), "true or false"),
        ]
        for field, ok, expected in checks:
            if not ok:
                raise ValueError(f"run config: {field} must be {expected}; "
                                 f"got {getattr(self, field)!r}.")
        for field in ("train_size", "val_size", "test_size"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, int) and value >= 10):
                raise ValueError(f"run config: {field} must be an integer >= 10 or None "
                                 f"(all); got {value!r}.")
        bad = [e for e in self.record_epochs if not 0 <= e <= self.epochs]
        if bad:
            raise ValueError(f"run config: record_epochs {bad} outside 0..{self.epochs}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["augment"] = list(self.augment)
        data["record_epochs"] = list(self.record_epochs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build a config from a dict, rejecting unknown keys.

        Raises:
            ValueError: If a key is unknown or a value invalid.
        """
        unknown = sorted(set(data) - set(field_names()))
        if unknown:
            raise ValueError(f"run config: unknown field(s) {', '.join(unknown)}; the fields "
                             f"are {', '.join(field_names())}.")
        return cls(**data)

    def replace(self, **changes) -> RunConfig:
        """Return a copy with some fields changed (validated).

        Raises:
            ValueError: If a field is unknown or a value invalid.
        """
        return RunConfig.from_dict({**self.to_dict(), **changes})

    @property
    def key(self) -> str:
        """The content hash naming this run in the store."""
        config = self.to_dict()
        for field, default in OMITTED_AT_DEFAULT.items():
            if config[field] == default:
                del config[field]
        canonical = json.dumps(
            {"config": config, "code": TRAINING_CODE_VERSION},
            sort_keys=True, separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``convnet-3f2a9c1b``."""
        return f"{self.model}-{self.key[:8]}"


def field_names() -> list[str]:
    """Return the names of the :class:`RunConfig` fields."""
    return [f.name for f in dataclasses.fields(RunConfig)]


def parse_value(field: str, text: str):
    """Parse a command-line value for a config field (``--set field=value``).

    Args:
        field: A :class:`RunConfig` field name.
        text: The value as typed. Lists are comma-separated; ``none`` means ``None``.

    Returns:
        The value converted to the field's type.

    Raises:
        ValueError: If the field is unknown or the text does not convert.
    """
    if field not in field_names():
        raise ValueError(f"unknown run config field {field!r}; the fields are "
                         f"{', '.join(field_names())}.")
    default = getattr(RunConfig(), field)
    try:
        if field in ("augment",):
            return tuple(part for part in text.split(",") if part)
        if field == "record_epochs":
            return tuple(int(part) for part in text.split(",") if part)
        if field in ("train_size", "val_size", "test_size"):
            return None if text.lower() in ("none", "all") else int(text)
        if isinstance(default, bool):
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        return type(default)(text)
    except ValueError:
        kind = {bool: "true or false", int: "an integer", float: "a number",
                str: "a word"}.get(type(default), type(default).__name__)
        raise ValueError(f"--set {field}={text}: {field} takes {kind}.") from None


def change_key(changes: dict[str, Any]) -> str:
    """A canonical text for a set of config changes, e.g. ``"batch_norm=true, model=cnn1"``.

    Facts about a study's variants are keyed by it, so a judge finds a variant by what it
    changes, never by its label.

    Args:
        changes: Config field -> value.

    Returns:
        ``field=value`` pairs sorted by field; numbers in ``%g`` form, sequences joined by ``+``.
    """
    def text(value) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (int, float)):
            return f"{value:g}"
        if isinstance(value, (list, tuple)):
            return "+".join(map(str, value)) or "none"
        return str(value)

    return ", ".join(f"{field}={text(value)}" for field, value in sorted(changes.items()))
