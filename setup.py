"""Packaging metadata lives in setup.cfg; this file only ships the top-level conf/ folder as the package lrnas.conf
(setup.cfg cannot map one subpackage to a folder outside the package while finding the rest)."""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["lrnas", "lrnas.*"]), "lrnas.conf"],
    package_dir={"lrnas.conf": "conf"},
    package_data={"lrnas.conf": ["**/*.yaml"], "lrnas.benchmarks": ["data/*"]},
)
