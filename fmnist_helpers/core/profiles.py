"""Named profiles: how big a report build is.

``full`` is the seed's scale and defaults (batch 1000, Xavier, Adam at 1e-4, dropout keep-prob
0.8); ``quick`` and ``smoke`` shrink the data, the epochs and the model width so that a report
builds in minutes on a 2-core CPU. Where they depart from the seed, the README says so.
"""

from __future__ import annotations

import dataclasses

from fmnist_helpers.core.config import RunConfig


@dataclasses.dataclass(frozen=True)
class Profile:
    """A named set of scale parameters.

    Attributes:
        name: ``smoke``, ``quick``, ``converged`` or ``full``.
        description: One line for the report.
        train_size: Training images (``None``: all 54,000).
        val_size: Validation images (``None``: all 6,000).
        test_size: Test images (``None``: all 10,000).
        epochs: Training epochs of every run.
        width: Model width multiplier.
        batch_size: Images per batch.
        learning_rate: Adam's learning rate for the baseline runs.
        seeds: Seeds per comparison.
        probe_size: Test images in the probe set (t-SNE, misclassified-over-training).
        record_epochs: Epochs at which extras are recorded for the baseline ConvNet.
    """

    name: str
    description: str
    train_size: int | None
    val_size: int | None
    test_size: int | None
    epochs: int
    width: float
    batch_size: int
    learning_rate: float
    seeds: int
    probe_size: int
    record_epochs: tuple[int, ...]

    def run_config(self, **changes) -> RunConfig:
        """Return the profile's baseline run (the seed's ConvNet) with ``changes`` applied.

        Raises:
            ValueError: If a change names an unknown field or has an invalid value.
        """
        base = RunConfig(
            model="convnet", train_size=self.train_size, val_size=self.val_size,
            test_size=self.test_size, epochs=self.epochs, width=self.width,
            batch_size=self.batch_size, learning_rate=self.learning_rate,
            probe_size=self.probe_size,
        )
        return base.replace(**changes) if changes else base

    def baseline(self) -> RunConfig:
        """The profile's reference ConvNet, with extras recorded (shared by many sections)."""
        return self.run_config(record_epochs=self.record_epochs)

    def summary(self) -> dict:
        """Return the profile's settings as a dict."""
        return dataclasses.asdict(self)


PROFILES = {
    "smoke": Profile(
        name="smoke",
        description="CI smoke test: tiny data and model, every notebook end to end",
        train_size=1000, val_size=500, test_size=1000, epochs=3, width=0.125,
        batch_size=50, learning_rate=1e-3, seeds=2, probe_size=300,
        record_epochs=(0, 1, 3),
    ),
    "quick": Profile(
        name="quick",
        description="a newcomer's first build: 6k training images, quarter-width models",
        train_size=6000, val_size=2000, test_size=None, epochs=4, width=0.25,
        batch_size=128, learning_rate=1e-3, seeds=3, probe_size=2000,
        record_epochs=(0, 1, 2, 4),
    ),
    "converged": Profile(
        name="converged",
        description="the verdicts' budget: 10k training images, quarter-width models, 20 epochs "
                    "(long enough to plateau), 5 seeds",
        train_size=10_000, val_size=None, test_size=None, epochs=20, width=0.25,
        batch_size=128, learning_rate=1e-3, seeds=5, probe_size=2000,
        record_epochs=(0, 1, 5, 20),
    ),
    "full": Profile(
        name="full",
        description="the seed's scale: all 54k training images, full-width models",
        train_size=None, val_size=None, test_size=None, epochs=30, width=1.0,
        batch_size=1000, learning_rate=1e-4, seeds=5, probe_size=3000,
        record_epochs=(0, 1, 5, 15, 30),
    ),
}


#: Validation accuracy for the "epochs to reach" columns of the training studies.
#: The profile whose committed ledger (records/ledgers/) every report shows as the verdicts.
VERDICTS_PROFILE = "converged"

ACCURACY_THRESHOLDS = {"smoke": 0.4, "quick": 0.8, "converged": 0.85, "full": 0.9}


def get_profile(name: str) -> Profile:
    """Return a profile by name.

    Raises:
        ValueError: If the name is unknown; the message lists the profiles.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}.")
    return PROFILES[name]
