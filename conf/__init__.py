"""lrnas's Hydra configs, installed as the package ``lrnas.conf`` (setup.py maps it to this top-level folder), so a
wheel carries them and ``pip install .`` gives a working ``lrnas`` command; an editable install reads this folder."""
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
