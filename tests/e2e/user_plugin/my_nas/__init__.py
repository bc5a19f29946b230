"""A user's own package, outside lrnas: a search space and an algorithm that lrnas runs by dotted path.

tests/e2e/test_user_plugin.py trains with them, as a user would:

    PYTHONPATH=tests/e2e/user_plugin lrnas train 'hydra.searchpath=[file://tests/e2e/user_plugin/my_conf]' \\
        space=two_ops algorithm=alternate experiment=smoke
"""
