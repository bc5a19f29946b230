"""Landmark Regularization (Yu, Salzmann, Ranftl, CVPR 2021): landmark sets and the ranking regularizer."""
from lrnas.landmarks.choice import choose_landmarks, evaluation_reserve, table_key
from lrnas.landmarks.regularizer import (
    PAIR_PROCEDURES,
    PENALTIES,
    SCHEDULES,
    LandmarkRegularizer,
    lambda_at,
    normalised_gap,
    ranking_penalty,
    sample_pairs,
)
from lrnas.landmarks.selection import (
    METHODS,
    Landmark,
    LandmarkFileError,
    hamming_groups,
    landmarks_from_config,
    load_landmarks,
    save_landmarks,
    select_landmarks,
)

__all__ = [
    "METHODS",
    "PAIR_PROCEDURES",
    "PENALTIES",
    "SCHEDULES",
    "Landmark",
    "LandmarkFileError",
    "LandmarkRegularizer",
    "choose_landmarks",
    "evaluation_reserve",
    "hamming_groups",
    "lambda_at",
    "landmarks_from_config",
    "load_landmarks",
    "normalised_gap",
    "ranking_penalty",
    "sample_pairs",
    "save_landmarks",
    "select_landmarks",
    "table_key",
]
