"""livingcircle: what a resident can reach on foot, and where the city fails them."""

__version__ = "0.1.0"
