"""lrnas: landmark-regularized weight-sharing NAS (Yu, Salzmann, Ranftl, CVPR 2021)."""
