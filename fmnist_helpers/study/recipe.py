"""How a run config becomes a compiled model: the architecture, the loss (with label smoothing),
the optimizer (with its weight average) and its learning-rate schedule; and the flip-averaged
evaluation of test-time augmentation.
"""

from __future__ import annotations

import keras
import numpy as np

from fmnist_helpers.core.config import RunConfig
from fmnist_helpers.study.models import build_model


def make_optimizer(name: str, learning_rate: float, ema_momentum: float = 0.0,
                   weight_decay: float = 0.0) -> keras.optimizers.Optimizer:
    """Return a Keras optimizer by name (``adam``, ``rmsprop``, ``sgd``, ``momentum``).

    Args:
        name: The optimizer.
        learning_rate: A float or a schedule.
        ema_momentum: Above 0, the optimizer keeps an exponential moving average of the weights
            (``use_ema``); ``fit`` ends with the weights set to it.
        weight_decay: Above 0, Keras's decoupled weight decay (each step multiplies every
            weight by ``1 - learning_rate * weight_decay``).

    Raises:
        ValueError: If the name is unknown.
    """
    options = {"use_ema": True, "ema_momentum": ema_momentum} if ema_momentum > 0 else {}
    if weight_decay > 0:
        options["weight_decay"] = weight_decay
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, **options)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, **options)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, **options)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, **options)
    raise ValueError(f"optimizer must be one of adam, rmsprop, sgd, momentum; got {name!r}.")


def build_from_config(config: RunConfig) -> keras.Model:
    """Build (uncompiled) the model a config describes."""
    return build_model(
        config.model, initializer=config.initializer, init_std=config.init_std,
        batch_norm=config.batch_norm, dropout=config.dropout, activation=config.activation,
        kernel_size=config.kernel_size, width=config.width, precision=config.precision,
    )


@keras.saving.register_keras_serializable(package="fmnist_helpers")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy on logits with integer labels and label smoothing.

    Keras's ``SparseCategoricalCrossentropy`` has no ``label_smoothing``; this one-hot encodes
    the labels and calls ``keras.losses.categorical_crossentropy``, which has.

    Args:
        label_smoothing: In ``[0, 1)``; the true class gets ``1 - s + s / classes``.
        classes: Number of classes.
    """

    def __init__(self, label_smoothing: float = 0.1, classes: int = 10,
                 name: str = "smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        self.label_smoothing = float(label_smoothing)
        self.classes = int(classes)

    def call(self, y_true, y_pred):
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        return keras.losses.categorical_crossentropy(
            keras.ops.one_hot(labels, self.classes), y_pred, from_logits=True,
            label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "classes": self.classes}


def learning_rate_for(config: RunConfig, steps_per_epoch: int):
    """Return the optimizer's learning rate: a float, or a schedule over the run's steps.

    Args:
        config: The run (``learning_rate``, ``lr_schedule``, ``epochs``).
        steps_per_epoch: Batches per epoch.

    Returns:
        ``config.learning_rate`` for ``"constant"``; for ``"cosine"`` a
        ``keras.optimizers.schedules.CosineDecay`` from it to zero over all steps.

    Raises:
        ValueError: If the schedule is unknown or ``steps_per_epoch`` < 1.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}.")
    if config.lr_schedule == "constant":
        return config.learning_rate
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=config.epochs * steps_per_epoch, alpha=0.0)
    raise ValueError(f"lr_schedule must be 'constant' or 'cosine'; got {config.lr_schedule!r}.")


def compile_model(model: keras.Model, config: RunConfig, steps_per_epoch: int = 1) -> None:
    """Compile with the config's optimizer and schedule, cross-entropy on logits and accuracy.

    Args:
        model: The model.
        config: The run.
        steps_per_epoch: Batches per epoch (sets the length of a learning-rate schedule).
    """
    loss = (SmoothedSparseCrossentropy(config.label_smoothing) if config.label_smoothing > 0
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile(
        optimizer=make_optimizer(config.optimizer, learning_rate_for(config, steps_per_epoch),
                                 config.ema_momentum, config.weight_decay),
        loss=loss,
        metrics=["accuracy"],
        jit_compile=False,  # XLA is slower than plain TF on the CPUs we measured
    )


def flip_averaged_metrics(model: keras.Model, images: np.ndarray, labels: np.ndarray,
                          batch_size: int) -> tuple[float, float]:
    """Loss and accuracy when each image's predicted probabilities are averaged with its mirror
    image's (test-time augmentation by horizontal flip).

    Args:
        model: A model whose outputs are logits.
        images: ``(n, 28, 28, 1)``.
        labels: ``(n,)`` integer classes.
        batch_size: Images per prediction batch.

    Returns:
        ``(cross-entropy of the averaged probabilities, accuracy)``.

    Raises:
        ValueError: If images and labels differ in length.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    probabilities = [keras.ops.convert_to_numpy(keras.ops.softmax(
        model.predict(batch, batch_size=batch_size, verbose=0)))
        for batch in (images, images[:, :, ::-1, :])]
    mean = (probabilities[0] + probabilities[1]) / 2
    picked = mean[np.arange(len(labels)), labels]
    return (float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0)))),
            float(np.mean(mean.argmax(axis=1) == labels)))
