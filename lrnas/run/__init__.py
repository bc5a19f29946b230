"""One ``lrnas train`` run, one hop from train.py: its state (state.py), its epochs and search (epoch.py), what it
says (messages.py) and the files of its folder (folder.py)."""
