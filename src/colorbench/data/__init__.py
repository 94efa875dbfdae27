"""Datasets: the Kaggle sports download, dataset indexes, the bundled samples, and the one image loader."""
