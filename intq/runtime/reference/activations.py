"""Reference kernel(s): activations (placeholder, to be written)."""
KERNELS = {}
