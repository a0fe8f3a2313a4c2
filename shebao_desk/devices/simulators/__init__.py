"""Simulated devices for training and tests: the virtual social security card, an ID card reader."""
