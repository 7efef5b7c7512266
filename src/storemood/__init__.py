"""storemood: how shoppers react to products and brands, from in-store cameras."""

__version__ = "0.1.0"
