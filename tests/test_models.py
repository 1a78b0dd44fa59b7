"""The six architectures: shapes, names, parameter counts and option checking."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_helpers import models


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_each_architecture_gives_ten_logits(name):
    model = models.build_model(name, width=0.25)
    out = model(np.zeros((2, 28, 28, 1), np.float32))
    assert tuple(out.shape) == (2, 10)
    assert model.get_layer("logits").units == 10
    assert models.penultimate_layer(model).name.startswith(
        "global_pool" if name == "speednet" else "fc")


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_parameter_table_total_matches_keras(name):
    model = models.build_model(name, batch_norm=True, dropout=0.2)
    table = models.parameter_table(model)
    assert table["parameters"].sum() == model.count_params()
    assert (table["weights"] + table["biases"] == table["parameters"]).all()


def test_convnet_matches_the_seed_table_plus_biases():
    """The seed's Table 1 counts kernels only (with slips such as 4069 x 1024); recompute."""
    model = models.build_model("convnet")
    table = models.parameter_table(model).set_index("layer")
    expected_kernels = {
        "conv1": 3 * 3 * 1 * 64, "conv2": 3 * 3 * 64 * 128, "conv3": 3 * 3 * 128 * 256,
        "conv4": 3 * 3 * 256 * 256, "fc1": 4096 * 1024, "fc2": 1024 * 1024, "logits": 1024 * 10,
    }
    for layer, kernels in expected_kernels.items():
        assert table.loc[layer, "weights"] == kernels, layer
        assert table.loc[layer, "biases"] == model.get_layer(layer).kernel.shape[-1]
    assert table.loc["pool3", "output_shape"] == (4, 4, 256)
    assert table.loc["flatten", "output_shape"] == (4096,)
    biases = 64 + 128 + 256 + 256 + 1024 + 1024 + 10
    assert model.count_params() == sum(expected_kernels.values()) + biases


def test_named_layers_and_block_outputs():
    plain = models.build_model("convnet", width=0.25)
    assert models.conv_blocks(plain) == ["conv1", "conv2", "conv3", "conv4"]
    assert models.dense_blocks(plain) == ["fc1", "fc2"]
    assert models.block_output(plain, "conv1").name == "conv1"
    normed = models.build_model("convnet", width=0.25, batch_norm=True, dropout=0.3)
    assert models.block_output(normed, "conv1").name == "conv1_act"
    assert models.penultimate_layer(normed).name == "fc2_act"
    assert normed.get_layer("fc1_dropout").rate == pytest.approx(0.3)


@pytest.mark.parametrize("kernel_size", models.KERNEL_SIZES)
def test_kernel_size_option(kernel_size):
    model = models.build_model("cnn3", kernel_size=kernel_size)
    assert model.get_layer("conv2").kernel.shape[:2] == (kernel_size, kernel_size)


def test_width_scales_filters():
    assert models.build_model("convnet", width=0.25).get_layer("conv1").filters == 16
    assert models.build_model("vgg_like", width=0.5).get_layer("fc1").units == 256


@pytest.mark.parametrize("option, value, listed", [
    ("name", "resnet", "convnet"),
    ("initializer", "orthogonal", "xavier"),
    ("activation", "swish", "tanh"),
    ("kernel_size", 4, "5"),
    ("dropout", 1.5, "[0, 1)"),
    ("width", 0.0, "(0, 4]"),
])
def test_invalid_options_are_rejected_with_the_valid_ones(option, value, listed):
    kwargs = {"name": "convnet"}
    kwargs[option] = value
    with pytest.raises(ValueError) as info:
        models.build_model(**kwargs)
    assert listed in str(info.value)


def test_initializers_differ_in_spread():
    stds = {}
    for init in models.INITIALIZERS:
        model = models.build_model("feedforward", initializer=init, init_std=0.01)
        stds[init] = float(np.std(model.get_layer("fc1").kernel.numpy()))
    assert stds["random"] == pytest.approx(0.01, rel=0.05)
    assert stds["he"] > stds["xavier"]  # He normal: sqrt(2/fan_in) > Glorot: sqrt(2/(in+out))


def test_speednet_pools_inside_its_blocks_and_costs_about_what_our_convnet_costs():
    """SpeedNet (ours): each block's first convolution is pooled before its batch norm, the
    global max pool feeds the logits; multiply-adds counted by hand for the ConvNet."""
    model = models.build_model("speednet", batch_norm=True)
    names = [layer.name for layer in model.layers]
    assert names.index("pool1") == names.index("conv2") + 1
    assert names.index("conv2_bn") == names.index("pool1") + 1
    assert model.get_layer("global_pool").output.shape[1:] == (256,)
    assert tuple(model.get_layer("conv7").output.shape[1:]) == (4, 4, 256)
    convnet = models.build_model("convnet")
    by_hand = (28 * 28 * 9 * 64 + 14 * 14 * 9 * 64 * 128 + 7 * 7 * 9 * 128 * 256
               + 7 * 7 * 9 * 256 * 256 + 4096 * 1024 + 1024 * 1024 + 1024 * 10)
    assert models.multiply_adds(convnet) == by_hand
    assert 0.9 < models.multiply_adds(model) / by_hand < 1.2
    assert model.count_params() < convnet.count_params() / 5
    assert "speednet" not in set(models.architecture_table(0.25).index.str.lower())
