"""Active Negative Loss: losses, label-noise models, data, models, trainer and results store."""

__version__ = "0.1.0"
