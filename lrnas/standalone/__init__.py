"""``lrnas landmarks build``: train architectures stand-alone (each space's network, a recipe from conf/standalone/)
to give landmarks their accuracies where no benchmark table has them."""
