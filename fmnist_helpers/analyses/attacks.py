"""Fooling the network: from noise to a chosen class, and adversarial perturbations of real images.

All attacks take gradients with respect to the *input* only; the model is called with
``training=False`` and never modified. Models map images in ``[0, 1]`` to logits (as every model of
``models.build_model`` does); adversarial images always stay in ``[0, 1]``.

- :func:`fool_from_noise` -- the seed's first method: start from noise, step along the gradient of
  the target class's log-probability until the model predicts it with a chosen confidence.
- :func:`fgsm` -- the fast gradient sign method (Goodfellow et al., 2015).
- :func:`pgd` -- projected gradient descent (Madry et al., 2018), L-infinity ball.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from fmnist_helpers.store.cache import stored_result
from fmnist_helpers.study.data import CLASS_NAMES, NUM_CLASSES, probe_set

_BATCH = 500


def _logits(model, images):
    return model(images, training=False)


def _loss_gradient(model, images, labels):
    """Gradient of the per-image cross-entropy w.r.t. the images."""
    images = tf.convert_to_tensor(images, tf.float32)
    labels = tf.convert_to_tensor(labels, tf.int32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = keras.losses.sparse_categorical_crossentropy(
            labels, _logits(model, images), from_logits=True)
    return tape.gradient(loss, images)


def _check(images, labels, epsilon):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be a batch (n, 28, 28, 1), got shape {images.shape}.")
    if images.min() < 0 or images.max() > 1:
        raise ValueError("images must be in [0, 1] (use data.to_float).")
    labels = np.asarray(labels).astype(np.int32).reshape(-1)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1] (pixel scale), got {epsilon}.")
    return images, labels


def _targets(target, n):
    if target is None:
        return None
    target = np.asarray(target).astype(np.int32).reshape(-1)
    if target.size == 1:
        target = np.full(n, int(target[0]), np.int32)
    if len(target) != n or target.min() < 0 or target.max() > 9:
        raise ValueError("target must be a class 0-9 or one class per image.")
    return target


def fgsm(model, images, labels, epsilon: float, target=None) -> np.ndarray:
    """Fast gradient sign method: one step of size ``epsilon`` along the gradient's sign.

    Args:
        model: A Keras model mapping images in ``[0, 1]`` to logits.
        images: ``(n, 28, 28, 1)`` float images in ``[0, 1]``.
        labels: True classes (untargeted: the loss of these is increased).
        epsilon: L-infinity size of the perturbation (pixel scale, 0-1).
        target: ``None`` (untargeted), a class, or one class per image: the loss of the target
            is decreased instead.

    Returns:
        The adversarial images, clipped to ``[0, 1]``.

    Raises:
        ValueError: On malformed images, labels, epsilon or target.
    """
    images, labels = _check(images, labels, epsilon)
    target = _targets(target, len(images))
    out = np.empty_like(images)
    for start in range(0, len(images), _BATCH):
        part = slice(start, start + _BATCH)
        if target is None:
            step = epsilon * tf.sign(_loss_gradient(model, images[part], labels[part]))
        else:
            step = -epsilon * tf.sign(_loss_gradient(model, images[part], target[part]))
        out[part] = tf.clip_by_value(images[part] + step, 0.0, 1.0).numpy()
    return out


def pgd(model, images, labels, epsilon: float, steps: int = 20, step_size: float | None = None,
        target=None, random_start: bool = True, seed: int = 0) -> np.ndarray:
    """Projected gradient descent in the L-infinity ball of radius ``epsilon``.

    Args:
        model: A Keras model mapping images in ``[0, 1]`` to logits.
        images: ``(n, 28, 28, 1)`` float images in ``[0, 1]``.
        labels: True classes.
        epsilon: Radius of the L-infinity ball (pixel scale).
        steps: Gradient-sign steps.
        step_size: Size of each step (default ``2.5 * epsilon / steps``, Madry et al.).
        target: ``None`` (untargeted), a class, or one class per image.
        random_start: Start from a uniform random point in the ball.
        seed: Seed of the random start.

    Returns:
        The adversarial images: within ``epsilon`` of the originals and in ``[0, 1]``.

    Raises:
        ValueError: On malformed arguments.
    """
    images, labels = _check(images, labels, epsilon)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    step_size = 2.5 * epsilon / steps if step_size is None else step_size
    target = _targets(target, len(images))
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for start in range(0, len(images), _BATCH):
        part = slice(start, start + _BATCH)
        original = images[part]
        x = original.copy()
        if random_start:
            x = np.clip(x + rng.uniform(-epsilon, epsilon, x.shape).astype(np.float32), 0, 1)
        for _ in range(steps):
            if target is None:
                step = step_size * np.sign(_loss_gradient(model, x, labels[part]).numpy())
            else:
                step = -step_size * np.sign(_loss_gradient(model, x, target[part]).numpy())
            x = np.clip(np.clip(x + step, original - epsilon, original + epsilon), 0.0, 1.0)
        out[part] = x
    return out


def predict_proba(model, images) -> np.ndarray:
    """Softmax probabilities of a logits model, batched."""
    chunks = [tf.nn.softmax(_logits(model, images[i:i + _BATCH])).numpy()
              for i in range(0, len(images), _BATCH)]
    return np.concatenate(chunks)


def noise_start(seed: int = 0) -> np.ndarray:
    """The uniform-noise image ``(28, 28, 1)`` that :func:`fool_from_noise` starts from."""
    return np.random.default_rng(seed).uniform(0, 1, (28, 28, 1)).astype(np.float32)


@stored_result
def fool_from_noise(model, target_class, *, seed: int = 0, start=None, step_size: float = 0.01,
                    confidence: float = 0.99, max_steps: int = 2000) -> tuple[np.ndarray, dict]:
    """Drive a noise image to a chosen class by gradient ascent (the seed's first method).

    Args:
        model: A Keras model mapping images in ``[0, 1]`` to logits.
        target_class: The class (0-9) to reach, or a sequence of classes (one image each, all
            from the same start).
        seed: Seed of the uniform noise start.
        start: An explicit start image ``(28, 28, 1)`` instead of noise.
        step_size: Size of each gradient-sign step (pixel scale).
        confidence: Stop once the model gives the target at least this probability.
        max_steps: Give up after this many steps.

    Returns:
        ``(images, info)``: the fooling images ``(k, 28, 28, 1)`` and a DataFrame-ready dict of
        lists: ``target``, ``start_prediction``, ``start_confidence``, ``steps``,
        ``confidence`` (of the target at the end), ``success``.

    Raises:
        ValueError: On a bad class, confidence or step count.
    """
    targets = np.atleast_1d(np.asarray(target_class, dtype=np.int32))
    if targets.min() < 0 or targets.max() > 9:
        raise ValueError(f"target classes must be in 0-9, got {target_class}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}.")
    if start is None:
        start = noise_start(seed)
    x = np.repeat(np.asarray(start, np.float32)[None], len(targets), axis=0)
    probs = predict_proba(model, x)
    info = {"target": targets.tolist(), "start_prediction": probs.argmax(1).tolist(),
            "start_confidence": probs.max(1).round(4).tolist()}
    steps = np.zeros(len(targets), np.int64)
    done = probs[np.arange(len(targets)), targets] >= confidence
    for step in range(1, max_steps + 1):
        if done.all():
            break
        active = ~done
        grad = -_loss_gradient(model, x[active], targets[active]).numpy()
        x[active] = np.clip(x[active] + step_size * np.sign(grad), 0.0, 1.0)
        steps[active] = step
        reached = predict_proba(model, x[active])[np.arange(active.sum()), targets[active]]
        done[np.flatnonzero(active)[reached >= confidence]] = True
    final = predict_proba(model, x)[np.arange(len(targets)), targets]
    info.update(steps=steps.tolist(), confidence=final.round(4).tolist(),
                success=(final >= confidence).tolist())
    return x, info


def attack_metrics(model, clean, adversarial, labels, target=None) -> dict:
    """Success rate, perturbation sizes and confidences of an attack.

    Args:
        model: The attacked model.
        clean: The original images.
        adversarial: The attacked images.
        labels: True classes.
        target: The targets of a targeted attack (``None`` for untargeted).

    Returns:
        ``success_rate`` (untargeted: the fraction of correctly classified images that are
        misclassified after the attack; targeted: the fraction of images not already of the
        target class that are classified as the target), ``accuracy_before``, ``accuracy_after``,
        ``linf_mean``, ``linf_max``, ``l2_mean``, ``confidence_before`` (mean probability of
        the true class), ``confidence_after`` (mean probability of the new prediction), and the
        success rate's numerator and denominator: ``succeeded`` of ``eligible`` images.
    """
    labels = np.asarray(labels).reshape(-1)
    before, after = predict_proba(model, clean), predict_proba(model, adversarial)
    pred_before, pred_after = before.argmax(1), after.argmax(1)
    delta = (np.asarray(adversarial) - np.asarray(clean)).reshape(len(labels), -1)
    if target is None:
        eligible = pred_before == labels
        success = (pred_after != labels)[eligible]
    else:
        target = _targets(target, len(labels))
        eligible = labels != target
        success = (pred_after == target)[eligible]
    return {
        "success_rate": float(success.mean()) if success.size else float("nan"),
        "accuracy_before": float((pred_before == labels).mean()),
        "accuracy_after": float((pred_after == labels).mean()),
        "linf_mean": float(np.abs(delta).max(1).mean()),
        "linf_max": float(np.abs(delta).max()),
        "l2_mean": float(np.linalg.norm(delta, axis=1).mean()),
        "confidence_before": float(before[np.arange(len(labels)), labels].mean()),
        "confidence_after": float(after.max(1).mean()),
        "succeeded": int(success.sum()),
        "eligible": int(eligible.sum()),
    }


def shifted_targets(labels) -> np.ndarray:
    """The targets used for targeted attacks here: the next class, ``(label + 1) % 10``."""
    return (np.asarray(labels).astype(np.int32) + 1) % 10


@stored_result
def attack_table(model, images, labels, *, epsilon: float, steps: int = 20,
                 seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """FGSM and PGD, untargeted and targeted, on the same images: the metrics as a table.

    Args:
        model: The attacked model.
        images: Float images in ``[0, 1]``.
        labels: True classes.
        epsilon: L-infinity budget.
        steps: PGD steps.
        seed: PGD's random start.

    Returns:
        ``(table, adversarial)``: one row per attack; the adversarial images by attack name.
    """
    targets = shifted_targets(labels)
    adversarial = {
        "FGSM untargeted": fgsm(model, images, labels, epsilon),
        "FGSM targeted (next class)": fgsm(model, images, labels, epsilon, target=targets),
        "PGD untargeted": pgd(model, images, labels, epsilon, steps=steps, seed=seed),
        "PGD targeted (next class)": pgd(model, images, labels, epsilon, steps=steps,
                                         target=targets, seed=seed),
    }
    rows = {}
    for name, adv in adversarial.items():
        rows[name] = attack_metrics(model, images, adv, labels,
                                    target=targets if "targeted (" in name else None)
    table = pd.DataFrame(rows).T
    table.index.name = f"attack (epsilon {epsilon:g}, {len(labels)} test images)"
    return table, adversarial


@stored_result
def robustness_curve(model, images, labels, epsilons, *, steps: int = 10,
                     seed: int = 0) -> pd.DataFrame:
    """Test accuracy under untargeted FGSM and PGD for each epsilon.

    Args:
        model: The attacked model.
        images: Float images in ``[0, 1]``.
        labels: True classes.
        epsilons: Perturbation budgets (0 gives the clean accuracy).
        steps: PGD steps.
        seed: PGD's random start.

    Returns:
        A DataFrame indexed by epsilon with columns ``FGSM`` and ``PGD`` (accuracy).
    """
    labels = np.asarray(labels).reshape(-1)
    rows = []
    for epsilon in epsilons:
        row = {"epsilon": float(epsilon)}
        for name, attack in (("FGSM", lambda e: fgsm(model, images, labels, e)),
                             ("PGD", lambda e: pgd(model, images, labels, e, steps=steps,
                                                   seed=seed))):
            adv = images if epsilon == 0 else attack(epsilon)
            row[name] = float((predict_proba(model, adv).argmax(1) == labels).mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("epsilon")


@dataclasses.dataclass
class FoolingAnalysis:
    """Everything the fooling section shows, computed by :func:`fooling_analysis`.

    Attributes:
        start: The noise image the fooling starts from, ``(28, 28, 1)``.
        fooled: One fooling image per class, ``(10, 28, 28, 1)``.
        noise_info: ``fool_from_noise``'s info (targets, confidences, steps, success).
        images: The attacked test images (the probe set of ``attack_images``).
        labels: Their true classes.
        table: ``attack_table``'s metrics, one row per attack.
        adversarial: The adversarial images by attack name.
        probabilities: The model's class probabilities for ``"original"`` and for each attack.
        curve: ``robustness_curve`` on the first ``robustness_images`` images.
    """

    start: np.ndarray
    fooled: np.ndarray
    noise_info: dict
    images: np.ndarray
    labels: np.ndarray
    table: pd.DataFrame
    adversarial: dict[str, np.ndarray]
    probabilities: dict[str, np.ndarray]
    curve: pd.DataFrame


def fooling_analysis(model, *, attack_images: int, epsilon: float, pgd_steps: int,
                     noise_seed: int, robustness_images: int, robustness_epsilons,
                     robustness_steps: int) -> FoolingAnalysis:
    """The fooling section's analysis, called the same way by its notebook and the claims ledger.

    Args:
        model: The attacked model (logits); not changed.
        attack_images: Test images attacked (the probe set of that size).
        epsilon: L-infinity budget of FGSM and PGD.
        pgd_steps: PGD iterations for the success rates.
        noise_seed: Seed of the noise image driven to every class.
        robustness_images: Images (the first of the attacked ones) in the robustness curve.
        robustness_epsilons: Budgets of the robustness curve.
        robustness_steps: PGD iterations of the robustness curve.

    Returns:
        The :class:`FoolingAnalysis`.

    Raises:
        ValueError: If ``robustness_images`` is not in ``1 .. attack_images``.
    """
    if not 1 <= robustness_images <= attack_images:
        raise ValueError(f"robustness_images must be in 1..{attack_images} (the attacked "
                         f"images); got {robustness_images}.")
    start = noise_start(noise_seed)
    fooled, noise_info = fool_from_noise(model, list(range(NUM_CLASSES)), start=start)
    _, images, labels = probe_set(attack_images)
    table, adversarial = attack_table(model, images, labels, epsilon=epsilon, steps=pgd_steps)
    probabilities = {"original": predict_proba(model, images)}
    probabilities.update({name: predict_proba(model, adv) for name, adv in adversarial.items()})
    curve = robustness_curve(model, images[:robustness_images], labels[:robustness_images],
                             list(robustness_epsilons), steps=robustness_steps)
    return FoolingAnalysis(start=start, fooled=fooled, noise_info=noise_info, images=images,
                           labels=labels, table=table, adversarial=adversarial,
                           probabilities=probabilities, curve=curve)


def fooling_findings(noise_info: dict, table: pd.DataFrame, curve: pd.DataFrame,
                     epsilon: float, *, attacked: int | None = None,
                     curve_images: int | None = None,
                     test_accuracy: float | None = None) -> list[str]:
    """Sentences on the fooling results, derived from their numbers.

    Args:
        noise_info: ``fooling_analysis``'s noise record.
        table: The attacks' table.
        curve: The robustness curve (accuracy per epsilon).
        epsilon: The attacks' budget.
        attacked: Test images attacked for the table.
        curve_images: Test images of the robustness curve.
        test_accuracy: The model's accuracy on the whole test set (02's number).

    Returns:
        Sentences; with the three counts given, one that sets the model's clean accuracy on
        each sample side by side, so that the page's three clean accuracies read as one model.
    """
    reached = sum(noise_info["success"])
    steps = [s for s, ok in zip(noise_info["steps"], noise_info["success"]) if ok]
    lines = [
        f"From one noise image (first predicted {CLASS_NAMES[noise_info['start_prediction'][0]]}), "
        f"gradient ascent reached {reached} of {len(noise_info['target'])} target classes with "
        "the asked-for confidence"
        + (f", in {min(steps)}-{max(steps)} steps." if steps else "."),
    ]
    for name, row in table.iterrows():
        over = ("of the correctly classified images" if "untargeted" in name else
                "of the images not already of the target class")
        lines.append(
            f"{name}: success rate {row['success_rate']:.1%} ({int(row['succeeded']):,} of "
            f"{int(row['eligible']):,} {over}), accuracy {row['accuracy_before']:.1%} -> "
            f"{row['accuracy_after']:.1%}, mean L-inf {row['linf_mean']:.3f}, mean L2 "
            f"{row['l2_mean']:.2f} (epsilon {epsilon:g}, i.e. {epsilon * 255:.0f} of 255 grey "
            "levels per pixel).")
    if None not in (attacked, curve_images, test_accuracy) and 0 in curve.index:
        lines.append(f"Clean accuracy of this one model on each sample: {test_accuracy:.2%} on "
                     f"the whole test set (02), {table['accuracy_before'].iloc[0]:.1%} on the "
                     f"{attacked:,} attacked images, {curve.loc[0, 'PGD']:.1%} on the "
                     f"{curve_images:,} images of the robustness curve (its epsilon 0).")
    below = curve.index[curve["PGD"] < 0.5]
    over = f" on its {curve_images:,} images" if curve_images else ""
    if len(below):
        budget = below[0]
        fgsm = curve.loc[budget, "FGSM"]
        lines.append(f"PGD brings the curve's accuracy{over} below 50% from epsilon {budget:g} on "
                     f"({curve.loc[budget, 'PGD']:.1%} there); FGSM at that budget "
                     + (f"does too ({fgsm:.1%})." if fgsm < 0.5 else f"leaves {fgsm:.1%}."))
    else:
        lines.append("Within the budgets tried, PGD never brings accuracy below 50%.")
    clean = curve["PGD"].iloc[0]
    fooled = 1 - curve["PGD"] / clean if clean > 0 else curve["PGD"] * 0
    half = fooled.index[(fooled >= 0.5) & (fooled.index > 0)]
    if len(half):
        small = half[0]
        lines.append(
            f"Visibility: at epsilon {epsilon:g} a pixel may move by {epsilon * 255:.0f} of 255 "
            "grey levels, which shows as speckle on the blank background (the difference rows "
            "above), so the seed's 'without changing the appearance' does not hold at that "
            f"budget. The smallest epsilon tried at which PGD turns at least half of the curve's "
            f"correct predictions wrong is {small:g} ({small * 255:.0f} grey levels; "
            f"{fooled[small]:.0%} turned).")
    return lines
