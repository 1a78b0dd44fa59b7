"""Training throughput: ``fmnist_helpers.study.train.train()`` against a plain hand-written Keras
fit, in float32 and in ``mixed_bfloat16``, per model and width.

For each model, width and precision, both train on the same real Fashion-MNIST images with the
same batch size and epochs, in one process, alternating (plain, helpers, plain, helpers, ...) so
that load on a shared machine affects both alike; the two precisions of one model and width are
measured back to back for the same reason. Each reports images/s over ``fit`` alone (validation
included, final evaluation excluded). Printed: images/s, the ratio helpers/plain in the same
precision (target >= 1.0) and the ratio bfloat16/float32 of each (target >= 1.4 for the
full-width ConvNet on a CPU with ``avx512_bf16``).

Usage:
    python benchmarks/throughput.py [--models convnet,vgg_like] [--widths 1.0,0.25]
                                    [--precisions float32,mixed_bfloat16] [--train-size 5000]
                                    [--epochs 2] [--batch-size 128] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
from keras import layers

from fmnist_helpers import provenance
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.data import prepared_splits
from fmnist_helpers.study.models import ARCHITECTURES
from fmnist_helpers.study.train import train


def plain_model(model: str, width: float, precision: str) -> keras.Model:
    """The architecture built with nothing but Keras layers (Xavier init, no batch norm,
    dropout 0.2), every hidden layer in ``precision``, the logits in float32."""
    hidden = {} if precision == "float32" else {"dtype": precision}
    stack = [keras.Input((28, 28, 1))]
    flattened = False
    for spec in ARCHITECTURES[model]:
        if spec[0] == "pool":
            stack.append(layers.MaxPooling2D(2, padding="same", **hidden))
        elif spec[0] == "conv":
            stack.append(layers.Conv2D(max(1, round(spec[1] * width)), 3, padding="same",
                                       activation="relu", **hidden))
        else:
            if not flattened:
                stack.append(layers.Flatten(**hidden))
                flattened = True
            stack += [layers.Dense(max(1, round(spec[1] * width)), activation="relu", **hidden),
                      layers.Dropout(0.2, **hidden)]
    stack.append(layers.Dense(10, dtype="float32"))
    return keras.Sequential(stack)


def plain_fit(arrays, *, model, epochs, batch_size, width, precision, seed) -> float:
    """Train ``model`` with nothing but Keras; return images/s of ``fit``."""
    keras.utils.set_random_seed(seed)
    network = plain_model(model, width, precision)
    network.compile(optimizer=keras.optimizers.Adam(1e-4),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"])
    start = time.perf_counter()
    network.fit(arrays["x_train"], arrays["y_train"], batch_size=batch_size, epochs=epochs,
                validation_data=(arrays["x_val"], arrays["y_val"]), shuffle=True, verbose=0)
    return len(arrays["y_train"]) * epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="convnet,vgg_like")
    parser.add_argument("--widths", default="1.0,0.25")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--val-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    precisions = args.precisions.split(",")
    if "mixed_bfloat16" in precisions and not provenance.cpu_flags() & set(
            provenance.BFLOAT16_FLAGS):
        print("this CPU has no native bfloat16: measuring bfloat16 anyway (emulated; expect it "
              "to be slower)")
        os.environ[provenance.FORCE_BFLOAT16_ENV] = "1"

    arrays = prepared_splits(args.train_size, args.val_size, 1000)
    print(f"{provenance.describe_machine(provenance.machine())}; batch {args.batch_size}, "
          f"{args.train_size} images x {args.epochs} epochs, {args.repeats} repeats (medians)")
    print(f"{'model':9} {'width':>5} {'precision':15} {'plain':>7} {'helpers':>8} "
          f"{'helpers/plain':>13}")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        for model in args.models.split(","):
            for width in map(float, args.widths.split(",")):
                for precision in precisions:
                    plain, helpers = [], []
                    for repeat in range(args.repeats):
                        plain.append(plain_fit(arrays, model=model, epochs=args.epochs,
                                               batch_size=args.batch_size, width=width,
                                               precision=precision, seed=repeat))
                        config = get_profile("full").run_config(
                            model=model, train_size=args.train_size, val_size=args.val_size,
                            test_size=1000, epochs=args.epochs, width=width,
                            batch_size=args.batch_size, precision=precision, seed=repeat)
                        helpers.append(train(config, store=store, verbose=False)
                                       ["images_per_second"])
                    rows[model, width, precision] = (statistics.median(plain),
                                                     statistics.median(helpers))
                    p, h = rows[model, width, precision]
                    print(f"{model:9} {width:5g} {precision:15} {p:7.0f} {h:8.0f} {h / p:13.2f}",
                          flush=True)
    if "float32" in precisions and "mixed_bfloat16" in precisions:
        print("bfloat16 / float32 (same model and width, measured back to back):")
        for (model, width, precision), (p, h) in rows.items():
            if precision == "mixed_bfloat16":
                p32, h32 = rows[model, width, "float32"]
                print(f"  {model:9} width {width:g}: plain {p / p32:.2f}x, helpers {h / h32:.2f}x")


if __name__ == "__main__":
    main()
