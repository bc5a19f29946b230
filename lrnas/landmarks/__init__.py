"""Landmark Regularization (Yu, Salzmann, Ranftl, CVPR 2021): landmark sets and the ranking regularizer."""
from lrnas.landmarks.regularizer import (
    PAIR_PROCEDURES,
    PENALTIES,
    SCHEDULES,
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
    "hamming_groups",
    "lambda_at",
    "load_landmarks",
    "normalised_gap",
    "ranking_penalty",
    "sample_pairs",
    "save_landmarks",
    "select_landmarks",
]
