"""Run configs and the run store: keys, validation, reuse, atomicity, corruption."""

from __future__ import annotations

import json

import pytest

from fmnist_helpers.core.config import RunConfig, parse_value
from fmnist_helpers.store.runs import RunStore


def test_key_depends_on_every_field_and_nothing_else():
    base = RunConfig()
    assert base.key == RunConfig().key
    assert base.replace(seed=1).key != base.key
    assert base.replace(augment=["flip"]).key != base.key
    assert RunConfig(record_epochs=(3, 1, 1)).record_epochs == (1, 3)
    assert base.replace(lr_schedule="cosine").key != base.key
    assert base.replace(label_smoothing=0.1).key != base.key


def test_fields_added_later_leave_the_keys_of_stored_runs_alone():
    # The key the seed's ConvNet had before lr_schedule and label_smoothing existed (runs
    # stored then must still be found): the hash of the config without those two fields.
    import hashlib

    from fmnist_helpers.core.config import OMITTED_AT_DEFAULT, TRAINING_CODE_VERSION

    config = RunConfig(epochs=3, augment=("flip",))
    old_fields = {k: v for k, v in config.to_dict().items() if k not in OMITTED_AT_DEFAULT}
    canonical = json.dumps({"config": old_fields, "code": TRAINING_CODE_VERSION},
                           sort_keys=True, separators=(",", ":"))
    assert config.key == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert RunConfig.from_dict(old_fields) == config  # an old config.json still reads


def test_config_round_trips_through_json():
    config = RunConfig(augment=("flip", "translate"), record_epochs=(0, 2), epochs=3)
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.key == config.key


@pytest.mark.parametrize("changes, message", [
    ({"optimizer": "adagrad"}, "optimizer must be one of 'adam'"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"augment": ["blur"]}, "unknown augmentation 'blur'"),
    ({"record_epochs": [5], "epochs": 2}, r"record_epochs \[5\] outside 0..2"),
    ({"train_size": 3}, "train_size must be an integer >= 10"),
    ({"colour": "red"}, "unknown field"),
    ({"lr_schedule": "step"}, "lr_schedule must be one of 'constant', 'cosine'"),
    ({"label_smoothing": 1.0}, r"label_smoothing must be in \[0, 1\)"),
])
def test_bad_configs_are_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        RunConfig().replace(**changes)


def test_parse_value_converts_and_rejects():
    assert parse_value("epochs", "3") == 3
    assert parse_value("learning_rate", "1e-3") == pytest.approx(1e-3)
    assert parse_value("batch_norm", "true") is True
    assert parse_value("augment", "flip,translate") == ("flip", "translate")
    assert parse_value("train_size", "none") is None
    assert parse_value("lr_schedule", "cosine") == "cosine"
    assert parse_value("label_smoothing", "0.1") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="epochs takes an integer"):
        parse_value("epochs", "three")
    with pytest.raises(ValueError, match="unknown run config field 'epoch'"):
        parse_value("epoch", "3")


def test_partial_entry_is_not_taken_for_a_run(tmp_path, capsys):
    store = RunStore(tmp_path)
    config = RunConfig(epochs=1)
    tmp = store.new_entry(config)
    with pytest.raises(ValueError, match="result.json cannot be read"):
        store.commit(config, tmp)  # an assembled entry is checked before it is committed
    # a directory under the final name without result.json (e.g. copied half-way)
    tmp.rename(store.entry(config))
    assert store.get(config) is None
    assert "is broken (result.json cannot be read" in capsys.readouterr().err
    assert not store.entry(config).exists()
    assert list(tmp_path.glob(f"{config.key}.broken-*"))


# Keys computed before the package was reorganized (issue 13): stored runs must keep them.
PINNED_KEYS = {
    ("smoke", "baseline"): "2b5dea3a667bcf20",
    ("quick", "baseline"): "269206ba513b2517",
    ("full", "baseline"): "a079dd76fc5d825d",
    ("smoke", "vgg_bn_seed1"): "342d4e020eee9619",
    ("quick", "vgg_bn_seed1"): "03042d8bbc16e715",
    ("full", "vgg_bn_seed1"): "fe600113c2720b91",
}
PINNED_FULL_SCALE = {"convnet": "a079dd76fc5d825d", "vgg_bn_aug": "53bae6e3a373e8eb",
                     "convnet_recipe": "9b632625d1af3c17", "vgg_recipe": "e6007e03848a82c1",
                     "convnet_erasing": "3042c3bd4a2b4307", "convnet_long": "c0a2c316e40c7a9b",
                     "speedrun": "39956e3da590635b"}


def test_the_keys_of_stored_runs_never_change():
    from fmnist_helpers.core.profiles import get_profile
    from fmnist_helpers.study.fullscale import full_scale_configs

    for (profile, what), key in PINNED_KEYS.items():
        p = get_profile(profile)
        config = (p.baseline() if what == "baseline" else
                  p.run_config(model="vgg_like", batch_norm=True, seed=1))
        assert config.key == key, (profile, what)
    assert {name: c.key for name, c in full_scale_configs().items()} == PINNED_FULL_SCALE


def test_change_key_names_a_variant_by_what_it_changes():
    from fmnist_helpers.core.config import change_key

    assert change_key({"model": "cnn1", "batch_norm": True}) == "batch_norm=true, model=cnn1"
    assert change_key({"learning_rate": 1e-4}) == "learning_rate=0.0001"
    assert change_key({"dropout": 0}) == change_key({"dropout": 0.0}) == "dropout=0"
    assert change_key({"augment": ("flip", "scale")}) == "augment=flip+scale"
    assert change_key({"augment": ()}) == "augment=none"
