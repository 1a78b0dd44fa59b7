"""Training throughput: ``fmnist_helpers.train.train()`` against a plain hand-written Keras fit.

Both train the seed's ConvNet on the same real Fashion-MNIST images with the same batch size
and epochs, in one process, alternating (plain, helpers, plain, helpers, ...) so that load on a
shared machine affects both alike. Each reports images/s over ``fit`` alone (validation
included, final evaluation excluded). Target: ratio helpers/plain >= 1.0.

Usage:
    python benchmarks/throughput.py [--train-size 10000] [--epochs 2] [--width 1.0]
                                    [--batch-size 128] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from fmnist_helpers.data import prepared_splits
from fmnist_helpers.profiles import get_profile
from fmnist_helpers.runs import RunStore
from fmnist_helpers.train import train


def plain_fit(arrays, *, epochs, batch_size, width, seed) -> float:
    """Train the ConvNet with nothing but Keras; return images/s of ``fit``."""
    keras.utils.set_random_seed(seed)
    from keras import layers

    def conv(filters):
        return layers.Conv2D(max(1, round(filters * width)), 3, padding="same", activation="relu")

    def dense(units):
        return layers.Dense(max(1, round(units * width)), activation="relu")

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        conv(64), layers.MaxPooling2D(2, padding="same"),
        conv(128), layers.MaxPooling2D(2, padding="same"),
        conv(256), conv(256), layers.MaxPooling2D(2, padding="same"),
        layers.Flatten(), dense(1024), layers.Dropout(0.2), dense(1024), layers.Dropout(0.2),
        layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(arrays["x_train"], arrays["y_train"], batch_size=batch_size, epochs=epochs,
              validation_data=(arrays["x_val"], arrays["y_val"]), shuffle=True, verbose=0)
    return len(arrays["y_train"]) * epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    arrays = prepared_splits(args.train_size, args.val_size, 1000)
    plain, helpers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        for repeat in range(args.repeats):
            plain.append(plain_fit(arrays, epochs=args.epochs, batch_size=args.batch_size,
                                   width=args.width, seed=repeat))
            config = get_profile("full").run_config(
                train_size=args.train_size, val_size=args.val_size, test_size=1000,
                epochs=args.epochs, width=args.width, batch_size=args.batch_size, seed=repeat)
            run = train(config, store=store, verbose=False)
            helpers.append(run["images_per_second"])
            print(f"repeat {repeat + 1}: plain keras fit {plain[-1]:7.0f} images/s   "
                  f"fmnist_helpers.train {helpers[-1]:7.0f} images/s", flush=True)
    ratio = statistics.median(helpers) / statistics.median(plain)
    print(f"ConvNet width {args.width}, batch {args.batch_size}, {args.train_size} images x "
          f"{args.epochs} epochs, {os.cpu_count()} CPUs")
    print(f"median images/s: plain {statistics.median(plain):.0f}, helpers "
          f"{statistics.median(helpers):.0f}; ratio helpers/plain = {ratio:.3f} (target >= 1.0)")


if __name__ == "__main__":
    main()
