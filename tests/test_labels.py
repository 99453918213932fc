import numpy as np
import pytest

from chainer_vc.common.errors import InputError
from chainer_vc.common.labels import LabelGroup, LabelSchema, drop_groups, seed_schema


@pytest.fixture
def schema():
    return LabelSchema((LabelGroup('speaker', ('a', 'b', 'c')), LabelGroup('sex', ('female', 'male'))))


def test_seed_sizes():
    assert (seed_schema().input_size, seed_schema().class_size) == (1479, 1476)


def test_generator_input_and_target_by_hand(schema):
    codes = np.array([[2, 0], [1, -1]], dtype=np.int32)
    np.testing.assert_array_equal(schema.generator_input(codes), [
        [0, 0, 1, 1, 0, 1, 1],
        [0, 1, 0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(schema.classification_target(codes), [
        [0, 0, 1, 1, 0],
        [0, 1, 0, -1, -1]])
    assert schema.classification_target(codes).dtype == np.int32
    assert schema.generator_input(codes).dtype == np.float32


def test_codes_from_names_and_back(schema):
    codes = schema.codes({'speaker': 'b', 'sex': ''})
    np.testing.assert_array_equal(codes, [1, -1])
    assert schema.describe(codes) == {'speaker': 'b'}


def test_unknown_values_are_one_line_input_errors(schema):
    with pytest.raises(InputError, match=r"sex='robot' is not a known class \(known: female, male\)"):
        schema.codes({'sex': 'robot'})
    with pytest.raises(InputError, match="unknown label group 'age'"):
        schema.codes({'age': '3'})


def test_from_rows_sorts_classes_and_drops_empty_groups():
    schema = LabelSchema.from_rows(['speaker', 'sex', 'region'], [
        {'speaker': 'z', 'sex': 'm', 'region': ''}, {'speaker': 'y', 'sex': None, 'region': ''}])
    assert schema.names == ('speaker', 'sex')
    assert schema.group('speaker').classes == ('y', 'z')
    assert schema.input_size == 2 + 1 + 2


def test_single_class_group_is_allowed():
    schema = LabelSchema.from_rows(['speaker', 'sex'], [{'speaker': 'a', 'sex': 'f'}])
    assert schema.class_size == 2 and schema.input_size == 4


def test_schema_round_trips_through_dict(schema):
    assert LabelSchema.from_dict(schema.to_dict()) == schema


def test_drop_groups_keeps_one_labelled_group_and_drops_at_rate_p():
    rng = np.random.default_rng(0)
    codes = np.tile(np.array([[3, 1, 0]], dtype=np.int32), (4000, 1))
    dropped = drop_groups(codes, rng, p=0.5)
    assert np.all((dropped != -1).sum(axis=1) >= 1)
    assert np.all((dropped == codes) | (dropped == -1))
    # Per group: dropped with p=0.5 unless it was the only survivor, which happens 1/8 of the time.
    rate = np.mean(dropped == -1)
    assert 0.4 < rate < 0.5
    np.testing.assert_array_equal(drop_groups(codes, rng, p=0.0), codes)


def test_drop_groups_leaves_rows_with_nothing_labelled_alone():
    codes = np.array([[-1, -1]], dtype=np.int32)
    np.testing.assert_array_equal(drop_groups(codes, np.random.default_rng(0), 1.0), codes)
