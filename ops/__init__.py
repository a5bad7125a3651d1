"""Operating the product: the local stack, the demo, and tools for developers and support."""
